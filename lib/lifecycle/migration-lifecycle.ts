import { CustomResource } from 'aws-cdk-lib';
import { IConstruct, IDependable } from 'constructs';

/* What every migration lifecycle is, on a replication instance or on DMS Serverless. */

/**
 * What happens to a task that ran before, after a deployment changed it (its table mappings, task
 * settings, CDC positions or identifier). The task is always stopped before CloudFormation modifies it.
 */
export enum TaskUpdateBehavior {
  /** Start it again where it stopped (`resume-processing`): CDC continues from its checkpoint; a full load loads the tables not loaded yet. */
  RESUME = 'resume-processing',
  /** Load every table again from the start (`reload-target`), then continue with CDC if the task has it. */
  RELOAD = 'reload-target',
  /** Leave it stopped: start it yourself (console, CLI) when ready. */
  LEAVE_STOPPED = 'leave-stopped',
}

/**
 * What starts a migration on deploy and stops it before CloudFormation modifies or deletes it:
 * a `ReplicationTaskLifecycle` (replication task on an instance) or a
 * `ServerlessReplicationLifecycle` (DMS Serverless).
 */
export interface IMigrationLifecycle extends IConstruct {
  /** The custom resource that starts the migration (and stops it on delete). */
  readonly resource: CustomResource;
  /** The custom resource that stops the migration before CloudFormation modifies it. */
  readonly stopper: CustomResource;
  /** The status after the deployment (`running`, or `stopped` for a finished full load). */
  readonly status: string;
  /**
   * Completes when the deployment's wait for the migration ended: the lifecycle resource, or with a
   * `maxWait` over 55 minutes the wait condition that completes when the full load did.
   */
  readonly completion: IDependable;
  /** Start only after `dependables` exist. */
  addStartDependency(...dependables: IDependable[]): void;
}
