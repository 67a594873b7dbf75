/**
 * Stacks with N complete migrations, built with the library and with raw L1 resources, for the
 * synth benchmark and the scale tests.
 */
import { App, Aws, SecretValue, Stack } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { NeonTargetEndpoint } from '../lib/neon/target-endpoint';
import { IReplicationInstance, ReplicationInstance } from '../lib/replication/replication-instance';
import { PostgresSourceEndpoint } from '../lib/sources/postgres';
import { DmsMigrationTask } from '../lib/task/migration-task';
import { TableMappings } from '../lib/task/table-mappings';
import { TaskSettings } from '../lib/task/task-settings';

/** Name of the benchmark stacks. */
export const SCALE_STACK_NAME = 'Scale';

/** The replication instance every migration shares: imported, so both variants reference the same ARN. */
const INSTANCE_ARN = 'arn:aws:dms:us-east-1:123456789012:rep:BENCHSHAREDINSTANCE';
const INSTANCE_ID = 'bench-shared-instance';

function sharedInstance(stack: Stack): IReplicationInstance {
  return ReplicationInstance.fromReplicationInstanceAttributes(stack, 'SharedInstance', {
    replicationInstanceArn: INSTANCE_ARN,
    replicationInstanceIdentifier: INSTANCE_ID,
  });
}

function neonConnectionString(i: number): string {
  return `postgresql://app_owner@ep-bench-${i}-a1b2c3d4.us-east-2.aws.neon.tech/neondb?sslmode=require`;
}

/**
 * One stack with `n` complete library migrations: each a `PostgresSourceEndpoint` (from a plain
 * secret), a `NeonTargetEndpoint` (connection string + `SecretValue.secretsManager`) and a
 * `DmsMigrationTask` (connection tests and lifecycle on), all on one imported replication instance.
 */
export function buildLibraryStack(app: App, n: number): Stack {
  const stack = new Stack(app, SCALE_STACK_NAME);
  const instance = sharedInstance(stack);
  for (let i = 1; i <= n; i++) {
    const scope = new Construct(stack, `Migration${i}`);
    const source = new PostgresSourceEndpoint(scope, 'Source', {
      secret: secretsmanager.Secret.fromSecretNameV2(scope, 'SourceSecret', `bench/source-${i}`),
      databaseName: 'app',
    });
    const target = new NeonTargetEndpoint(scope, 'Target', {
      connectionString: neonConnectionString(i),
      password: SecretValue.secretsManager(`bench/neon-password-${i}`),
    });
    new DmsMigrationTask(scope, 'Task', {
      source,
      target,
      replicationInstance: instance,
      schemaName: 'public',
    });
  }
  return stack;
}

/** Documents the L1 variant uses, rendered once (the library renders the same ones). */
let l1Documents: { mappings: string; settings: string } | undefined;

/**
 * The same DMS resources declared directly: per migration two `CfnEndpoint`s reading their
 * credentials from Secrets Manager and one `CfnReplicationTask`, on the same imported instance.
 * No access roles, connection tests or lifecycle: what a hand-written L1 stack minimally declares.
 */
export function buildL1Stack(app: App, n: number): Stack {
  l1Documents ??= { mappings: TableMappings.includeSchema('public').toJson(), settings: new TaskSettings().toJson() };
  const stack = new Stack(app, SCALE_STACK_NAME);
  const instance = sharedInstance(stack);
  const accessRoleArn = `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/bench-dms-secrets-access`;
  for (let i = 1; i <= n; i++) {
    const scope = new Construct(stack, `Migration${i}`);
    const sourceSecret = secretsmanager.Secret.fromSecretNameV2(scope, 'SourceSecret', `bench/source-${i}`);
    const targetSecret = secretsmanager.Secret.fromSecretNameV2(scope, 'TargetSecret', `bench/neon-${i}`);
    const source = new dms.CfnEndpoint(scope, 'Source', {
      endpointType: 'source',
      engineName: 'postgres',
      databaseName: 'app',
      sslMode: 'require',
      postgreSqlSettings: { secretsManagerSecretId: sourceSecret.secretArn, secretsManagerAccessRoleArn: accessRoleArn },
    });
    const target = new dms.CfnEndpoint(scope, 'Target', {
      endpointType: 'target',
      engineName: 'postgres',
      databaseName: 'neondb',
      sslMode: 'require',
      postgreSqlSettings: { secretsManagerSecretId: targetSecret.secretArn, secretsManagerAccessRoleArn: accessRoleArn },
    });
    new dms.CfnReplicationTask(scope, 'Task', {
      migrationType: 'full-load',
      replicationInstanceArn: instance.replicationInstanceArn,
      sourceEndpointArn: source.ref,
      targetEndpointArn: target.ref,
      tableMappings: l1Documents.mappings,
      replicationTaskSettings: l1Documents.settings,
    });
  }
  return stack;
}
