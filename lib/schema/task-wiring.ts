import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { PostgresSchemaCopy, SchemaCopyOptions } from './schema-copy';
import { openSourceDatabases } from '../core/open-database';
import { MigrationContext } from '../lifecycle/migration-context';
import { MigrationType } from '../task/migration-type';
import { TargetTablePrepMode } from '../task/task-settings';

/**
 * The schema copy of a migration task, ordered around it: the pre-data step before the start, the
 * post-data and sequence steps after the full load (resuming a task stopped after it).
 *
 * @internal
 */
export function schemaCopyOfTask(task: MigrationContext, options: SchemaCopyOptions): PostgresSchemaCopy {
  const owner = 'DmsMigrationTask: schemaCopy';
  const source = task.source as unknown as { secret?: secretsmanager.ISecret; databaseName?: string };
  if (!['postgres', 'aurora-postgresql'].includes(task.source.engineName) || !source.secret || source.databaseName === undefined) {
    throw new Error(`${owner} copies a PostgreSQL schema with its client tools: the source must be a PostgresSourceEndpoint created by this library `
      + '(it knows its secret and database).');
  }
  const target = task.target as unknown as { clientCredentialsSecret?: secretsmanager.ISecret };
  if (!target.clientCredentialsSecret) {
    throw new Error(`${owner} needs a NeonTargetEndpoint as target: it reads Neon's credentials from the endpoint's credentials secret.`);
  }
  if (task.migrationType === MigrationType.CDC) {
    throw new Error(`${owner} applies to full-load migrations: with MigrationType.CDC the target already holds the tables (copy the schema by hand: cdk-neon-migration schema pre).`);
  }
  if (!task.waitForCompletion) {
    throw new Error(`${owner} creates indexes, constraints and sequences after the full load: set waitForCompletion: true, so the deployment knows when it ended.`);
  }
  if (task.settings.targetTablePrepMode === TargetTablePrepMode.DROP_AND_CREATE) {
    throw new Error(`${owner} creates the target tables before the load, and TargetTablePrepMode.DROP_AND_CREATE would drop them (with their defaults, `
      + 'types and sequences): use DO_NOTHING or TRUNCATE_BEFORE_LOAD.');
  }
  if (task.serverless && task.migrationType === MigrationType.FULL_LOAD_AND_CDC) {
    throw new Error(`${owner} with FULL_LOAD_AND_CDC needs the task to stop after the full load and resume, which the library supports on a `
      + 'replication instance only: run the task on an instance, or use FULL_LOAD.');
  }
  const network = options.network ?? task.network;
  if (!network) {
    throw new Error(`${owner} runs the PostgreSQL client tools in the replication network, and the task's replication instance was imported `
      + 'without its network: set schemaCopy.network (the network the instance runs in), or import the instance with its network.');
  }
  const cdc = task.migrationType === MigrationType.FULL_LOAD_AND_CDC;
  const copy = new PostgresSchemaCopy(task.scope, 'Schema', {
    ...options,
    network,
    sourceSecret: source.secret,
    sourceDatabaseName: source.databaseName,
    targetSecret: target.clientCredentialsSecret,
    tableMappings: task.tableMappings,
    changeDataCapture: cdc,
    loadArn: task.arn,
    resumeTaskArn: cdc ? task.arn : undefined,
  });
  // the tools reach the source like the replication compute does
  openSourceDatabases([task.source], copy, copy.before, task.scope);
  task.lifecycle.addStartDependency(copy.before);
  copy.addAfterDependency(task.lifecycle.completion);
  return copy;
}
