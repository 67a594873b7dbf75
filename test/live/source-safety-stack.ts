import { App, Environment, SecretValue, Size, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import { ReplicationSlotCleanup, ReplicationSlotCleanupProps } from '../../lib/live/replication-slot-cleanup';
import { DmsMigrationTask } from '../../lib/migration';
import { MigrationAlarms, MigrationDashboard, MonitoredMigration } from '../../lib/monitoring';
import { PostgresSourceAlarms, PostgresSourceAlarmsProps } from '../../lib/monitoring/source-alarms';
import { NeonTargetEndpoint } from '../../lib/neon';
import { NatEgressForReplication } from '../../lib/network/nat-egress';
import { PostgresSourceEndpoint, PostgresSourceOptions } from '../../lib/sources/postgres';
import { SourceDatabase } from '../../lib/sources/source-database';
import { MigrationType } from '../../lib/task';
import { NagAcknowledgement } from '../helpers/nag';

export const NEON_URI = 'postgresql://app@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require';

/** Options of the test stack. */
export interface SourceSafetyOptions {
  readonly aurora?: boolean;
  readonly allocatedStorage?: number;
  readonly source?: Partial<PostgresSourceOptions>;
  readonly cleanup?: Partial<ReplicationSlotCleanupProps>;
  readonly alarms?: Partial<PostgresSourceAlarmsProps>;
  readonly migrationType?: MigrationType;
  /** Generate the source's secret under a customer managed key. */
  readonly secretKey?: boolean;
}

/**
 * A CDC migration from an RDS for PostgreSQL instance (or an Aurora PostgreSQL cluster) into Neon,
 * with the source's slot cleanup and alarms next to the task's alarms and dashboard.
 */
export function sourceSafetyStack(options: SourceSafetyOptions = {}, app = new App(), env?: Environment) {
  const stack = new Stack(app, 'S', { env });
  const network = new NatEgressForReplication(stack, 'Network');
  const credentials = options.secretKey
    ? rds.Credentials.fromGeneratedSecret('postgres', { encryptionKey: new kms.Key(stack, 'SecretKey', { enableKeyRotation: true }) })
    : undefined;
  const engine = {
    vpc: network.vpc, vpcSubnets: network.replicationSubnets, storageEncrypted: true, deletionProtection: true, iamAuthentication: true, credentials,
  };
  let source: PostgresSourceEndpoint;
  let database: rds.DatabaseInstance | rds.DatabaseCluster;
  if (options.aurora) {
    database = new rds.DatabaseCluster(stack, 'Database', {
      ...engine,
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 }),
      writer: rds.ClusterInstance.provisioned('Writer'),
    });
    source = PostgresSourceEndpoint.fromRdsCluster(stack, 'Source', { cluster: database, databaseName: 'app', ...options.source });
  } else {
    database = new rds.DatabaseInstance(stack, 'Database', {
      ...engine,
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
      multiAz: true,
      enablePerformanceInsights: true,
      cloudwatchLogsExports: ['postgresql', 'upgrade'],
      allocatedStorage: options.allocatedStorage,
    });
    source = PostgresSourceEndpoint.fromRdsInstance(stack, 'Source', { instance: database, databaseName: 'app', ...options.source });
  }
  const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
  // DmsMigrationTask creates the cleanup, and MigrationAlarms the source alarms, by themselves; with
  // options for them the test builds them by hand
  const task = new DmsMigrationTask(stack, 'Migration', {
    source,
    target,
    network,
    schemaName: 'app',
    migrationType: options.migrationType ?? MigrationType.FULL_LOAD_AND_CDC,
    ...(options.cleanup ? { dropReplicationSlot: false } : {}),
  });
  const cleanup = options.cleanup
    ? new ReplicationSlotCleanup(stack, 'SlotCleanup', {
      source,
      replicationTask: task.replicationTask!,
      lifecycle: task.lifecycle as any,
      replicationInstance: task.replicationInstance!,
      network,
      ...options.cleanup,
    })
    : task.replicationSlotCleanup!;
  const watched = options.alarms
    ? MonitoredMigration.fromAttributes({
      taskArn: task.taskArn,
      taskIdentifier: task.taskIdentifier,
      replicationInstanceIdentifier: task.replicationInstanceIdentifier,
    })
    : task;
  const taskAlarms = new MigrationAlarms(stack, 'Alarms', { migration: watched });
  const sourceAlarms = options.alarms
    ? new PostgresSourceAlarms(stack, 'SourceAlarms', {
      database: SourceDatabase.fromEndpoint(source),
      notificationTopic: taskAlarms.topic,
      ...options.alarms,
    })
    : taskAlarms.sourceAlarms!;
  const dashboard = new MigrationDashboard(stack, 'Dashboard', { migrations: [task] });
  sourceAlarms.addToDashboard(dashboard);
  return { stack, network, database, source, target, task, cleanup, taskAlarms, sourceAlarms, dashboard, template: () => Template.fromStack(stack) };
}

/** The test database stands in for a source: its own findings are not this feature's. */
export const SOURCE_DATABASE_ACKNOWLEDGEMENTS: NagAcknowledgement[] = [
  ...['AwsSolutions-RDS10', 'AwsSolutions-RDS11', 'AwsSolutions-SMG4', 'AwsSolutions-RDS6', 'AwsSolutions-RDS14',
    'NIST.800.53.R5-RDSInBackupPlan', 'NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled', 'NIST.800.53.R5-SecretsManagerRotationEnabled',
    'NIST.800.53.R5-SecretsManagerUsingKMSKey', 'NIST.800.53.R5-RDSEnhancedMonitoringEnabled', 'NIST.800.53.R5-RDSStorageEncrypted',
    'NIST.800.53.R5-RDSMultiAZSupport', 'NIST.800.53.R5-RDSLoggingEnabled', 'NIST.800.53.R5-RDSLoggingEnabled[LogExport::postgresql]', 'AwsSolutions-RDS2', 'AwsSolutions-RDS16']
    .map(id => ({ id, reason: 'The test database only stands in for a source.', pathPattern: '^S/Database' })),
  { id: 'NIST.800.53.R5-EC2RestrictedCommonPorts', reason: 'The ingress rule admits only the replication security group, on the database port.', pathPattern: '^S/Database/SecurityGroup/from ' },
  { id: 'NIST.800.53.R5-EC2RestrictedSSH', reason: 'The ingress rule admits only the replication security group, on the database port.', pathPattern: '^S/Database/SecurityGroup/from ' },
];

/** Size in bytes of `gib` GiB. */
export const gib = (n: number) => Size.gibibytes(n).toBytes();
