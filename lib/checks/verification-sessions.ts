import type { DmsMigrationTask } from '../migration/migration-task';

/*
 * The sessions a task's verification opens on each database at most, as `MigrationVerification.forTask`
 * records them, so that `MigrationPreflight.forTask` counts them among the task's sessions on the
 * target (`targetCapacity.verificationSessions`) whichever of the two is created first.
 */

/** What a task's verification opens. */
export interface VerificationSessions {
  /** Sessions on each database at most. */
  readonly count: number;
  /** The property that sets them, e.g. `distributed.maxConcurrency`. */
  readonly property: string;
  /** The verification's construct path. */
  readonly path: string;
}

const recorded = new WeakMap<DmsMigrationTask, VerificationSessions>();

export function recordVerificationSessions(task: DmsMigrationTask, sessions: VerificationSessions): void {
  const previous = recorded.get(task);
  // two verifications of one task run one after another at most: the larger counts
  if (!previous || previous.count < sessions.count) recorded.set(task, sessions);
}

export function verificationSessionsOf(task: DmsMigrationTask): VerificationSessions | undefined {
  return recorded.get(task);
}
