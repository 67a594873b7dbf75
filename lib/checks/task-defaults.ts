import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { IReplicationNetwork } from '../core/interfaces';
import type { DmsMigrationTask } from '../migration/migration-task';

/** What a check of a task reads, as given or as the task knows it. */
export interface TaskCheckInputs {
  readonly network?: IReplicationNetwork;
  readonly sourceSecret?: secretsmanager.ISecret;
  readonly sourceDatabaseName?: string;
  readonly targetSecret?: secretsmanager.ISecret;
}

/**
 * The network, the source's secret and database, and the target's secret of a check of `task`: each
 * as given, or taken from the task (its network, a source endpoint of this library that knows its
 * secret and database, a `NeonTargetEndpoint`'s client credentials secret: the checks' functions send SNI).
 */
export function taskCheckInputs(owner: string, task: DmsMigrationTask, given: TaskCheckInputs) {
  const source = task.source as unknown as { secret?: secretsmanager.ISecret; databaseName?: string };
  const target = task.target as unknown as { clientCredentialsSecret?: secretsmanager.ISecret };
  const network = given.network ?? task.network;
  if (!network) {
    throw new Error(`${owner}: the task's replication instance was imported without its network, so the check does not know where to run: `
      + 'set network (the network the replication instance runs in).');
  }
  const sourceSecret = given.sourceSecret ?? source.secret;
  const sourceDatabaseName = given.sourceDatabaseName ?? source.databaseName;
  if (!sourceSecret || sourceDatabaseName === undefined) {
    throw new Error(`${owner}: the task's source endpoint does not tell its secret and database (an imported endpoint): `
      + 'set sourceSecret (the source database\'s secret, RDS JSON format) and sourceDatabaseName.');
  }
  return { network, sourceSecret, sourceDatabaseName, targetSecret: given.targetSecret ?? target.clientCredentialsSecret };
}
