import { App, Duration, Environment, RemovalPolicy, SecretValue, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { MigrationPreflight } from '../../lib/checks/migration-preflight';
import { MigrationVerification } from '../../lib/checks/migration-verification';
import { createRotatingKey } from '../../lib/core/kms';
import { acknowledgeRules } from '../../lib/core/nag';
import { NeonMigrationExampleStack } from '../../lib/example/example-stack';
import { DmsMigrationTask } from '../../lib/migration/migration-task';
import { NeonTargetEndpoint } from '../../lib/neon/target-endpoint';
import { NatEgressForReplication } from '../../lib/network/nat-egress';
import { ReplicationInstance } from '../../lib/replication/replication-instance';
import { ReplicationCompute } from '../../lib/replication/serverless';
import { PostgresSourceEndpoint } from '../../lib/sources/postgres';
import { MigrationType } from '../../lib/task/migration-type';

/**
 * The deployments the deploy-reality checks judge: the bundled example, a migration in an existing
 * VPC (NAT egress added to a VPC without one, the Neon secret imported by a name that ends like an
 * ARN suffix, preflight and verification in the VPC, a full load waited for through a wait
 * condition) and a migration on DMS Serverless (Neon credentials from a password reference). Each
 * can be built environment-agnostic or for a concrete account and Region.
 */

/** A concrete environment, for the checks that must hold with literal account and Region too. */
export const CONCRETE_ENV: Environment = { account: '123456789012', region: 'us-east-1' };

/** Names of the secrets the variants import: they exist in the account before the deployment. */
export const IMPORTED_SECRETS = {
  exampleNeon: 'neon/dms-example/connection',
  existingVpcNeon: 'neon/existing-vpc/connection-string',
  serverlessNeonPassword: 'neon/serverless/password',
} as const;

export interface Variant {
  readonly name: string;
  readonly stack: Stack;
}

export type VariantBuilder = (app: App, env?: Environment) => Variant;

export const exampleVariant: VariantBuilder = (app, env) => ({
  name: 'example',
  stack: new NeonMigrationExampleStack(app, 'Example', { env }),
});

export const existingVpcVariant: VariantBuilder = (app, env) => {
  const stack = new Stack(app, 'ExistingVpc', { env });
  // public subnets and isolated private subnets, no NAT gateway, room left in the address space: the
  // NAT gateway and the replication subnets (with route tables of their own) are added
  const vpc = new ec2.Vpc(stack, 'ExistingVpc', {
    maxAzs: 2,
    natGateways: 0,
    restrictDefaultSecurityGroup: true,
    subnetConfiguration: [
      { name: 'public', subnetType: ec2.SubnetType.PUBLIC, mapPublicIpOnLaunch: false, cidrMask: 24 },
      { name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
    ],
  });
  vpc.addFlowLog('FlowLog');
  const network = new NatEgressForReplication(stack, 'Egress', { vpc, publicSubnet: vpc.publicSubnets[0] });
  const database = sourceDatabase(stack, vpc, { subnets: vpc.isolatedSubnets }, rds.PostgresEngineVersion.VER_16);
  const replication = new ReplicationInstance(stack, 'Replication', { network });
  const source = PostgresSourceEndpoint.fromRdsInstance(stack, 'Source', { instance: database, databaseName: 'app' });
  const neon = new NeonTargetEndpoint(stack, 'Neon', {
    connectionStringSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'NeonUrl', IMPORTED_SECRETS.existingVpcNeon),
  });
  const migration = new DmsMigrationTask(stack, 'Migration', {
    source,
    target: neon,
    replicationInstance: replication,
    schemaName: 'app',
    waitForCompletion: true,
    maxWait: Duration.hours(3),
  });
  fidelityChecks(stack, migration, network, database, neon);
  return { name: 'existing VPC', stack };
};

export const serverlessVariant: VariantBuilder = (app, env) => {
  const stack = new Stack(app, 'Serverless', { env });
  const network = new NatEgressForReplication(stack, 'Network');
  const database = sourceDatabase(stack, network.vpc, network.replicationSubnets, rds.PostgresEngineVersion.VER_16);
  const source = PostgresSourceEndpoint.fromRdsInstance(stack, 'Source', { instance: database, databaseName: 'app' });
  const neon = new NeonTargetEndpoint(stack, 'Neon', {
    connectionString: 'postgresql://neondb_owner@ep-quiet-sun-12345678.us-east-2.aws.neon.tech/neondb?sslmode=require',
    password: SecretValue.secretsManager(IMPORTED_SECRETS.serverlessNeonPassword),
  });
  const migration = new DmsMigrationTask(stack, 'Migration', {
    source,
    target: neon,
    network,
    compute: ReplicationCompute.serverless({ minCapacityUnits: 1, maxCapacityUnits: 4 }),
    migrationType: MigrationType.FULL_LOAD,
    schemaName: 'app',
    waitForCompletion: true,
  });
  fidelityChecks(stack, migration, network, database, neon);
  return { name: 'DMS Serverless', stack };
};

/**
 * A full load whose verification runs distributed (a Step Functions state machine, a Distributed Map
 * above 40 units), with the preflight checking the target's connection slots for it.
 */
export const distributedVariant: VariantBuilder = (app, env) => {
  const stack = new Stack(app, 'Distributed', { env });
  const network = new NatEgressForReplication(stack, 'Network');
  const database = sourceDatabase(stack, network.vpc, network.replicationSubnets, rds.PostgresEngineVersion.VER_16);
  const source = PostgresSourceEndpoint.fromRdsInstance(stack, 'Source', { instance: database, databaseName: 'app' });
  const neon = new NeonTargetEndpoint(stack, 'Neon', {
    connectionString: 'postgresql://neondb_owner@ep-quiet-sun-12345678.us-east-2.aws.neon.tech/neondb?sslmode=require',
    password: SecretValue.secretsManager(IMPORTED_SECRETS.serverlessNeonPassword),
  });
  const migration = new DmsMigrationTask(stack, 'Migration', {
    source,
    target: neon,
    network,
    migrationType: MigrationType.FULL_LOAD,
    schemaName: 'app',
    waitForCompletion: true,
  });
  const inputs = { task: migration, network, sourceSecret: database.secret!, sourceDatabaseName: 'app', targetSecret: neon.clientCredentialsSecret };
  MigrationPreflight.forTask(stack, 'Preflight', { ...inputs, targetCapacity: {} });
  const alerts = new sns.Topic(stack, 'Alerts', { enforceSSL: true, masterKey: createRotatingKey(stack, 'AlertsKey', { description: 'Encrypts the verification alerts' }) });
  MigrationVerification.forTask(stack, 'Verification', { ...inputs, distributed: { maxConcurrency: 8, notificationTopic: alerts } });
  return { name: 'distributed verification', stack };
};

export const VARIANTS: VariantBuilder[] = [exampleVariant, existingVpcVariant, serverlessVariant, distributedVariant];

/** The variants' names, in the order of {@link VARIANTS} (test titles, known without building them). */
export const VARIANT_NAMES = ['example', 'existing VPC', 'DMS Serverless', 'distributed verification'] as const;

/** An RDS for PostgreSQL source that answers connections and opens none. */
function sourceDatabase(stack: Stack, vpc: ec2.IVpc, vpcSubnets: ec2.SubnetSelection, version: rds.PostgresEngineVersion): rds.DatabaseInstance {
  const securityGroup = new ec2.SecurityGroup(stack, 'DatabaseSecurityGroup', { vpc, allowAllOutbound: false, description: 'Source database' });
  const database = new rds.DatabaseInstance(stack, 'Database', {
    engine: rds.DatabaseInstanceEngine.postgres({ version }),
    instanceType: new ec2.InstanceType('t4g.micro'),
    vpc,
    vpcSubnets,
    securityGroups: [securityGroup],
    databaseName: 'app',
    port: 5432,
    storageEncrypted: true,
    multiAz: false,
    deletionProtection: false,
    removalPolicy: RemovalPolicy.DESTROY,
    backupRetention: Duration.days(1),
    cloudwatchLogsExports: ['postgresql', 'upgrade'],
  });
  acknowledgeRules(database, [
    { id: 'AwsSolutions-RDS3', reason: 'Test source database: single-AZ, it exists for the migration only.' },
    { id: 'AwsSolutions-RDS10', reason: 'Test source database: removed with the stack.' },
    { id: 'AwsSolutions-RDS11', reason: 'Test source database in private subnets reachable from the replication network only.' },
    { id: 'AwsSolutions-SMG4', reason: 'Test credentials live as long as the migration.' },
    { id: 'NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled', reason: 'Test source database: removed with the stack.' },
    { id: 'NIST.800.53.R5-RDSMultiAZSupport', reason: 'Test source database: single-AZ keeps it small.' },
    { id: 'NIST.800.53.R5-RDSInBackupPlan', reason: 'Test source database: its data can be generated again.' },
    { id: 'NIST.800.53.R5-RDSInstanceBackupEnabled', reason: 'Backups are kept for a day; the data can be generated again.' },
    { id: 'NIST.800.53.R5-SecretsManagerRotationEnabled', reason: 'Test credentials live as long as the migration.' },
    { id: 'NIST.800.53.R5-SecretsManagerUsingKMSKey', reason: 'Test credentials: the AWS managed key of Secrets Manager encrypts them.' },
    { id: 'NIST.800.53.R5-RDSEnhancedMonitoringEnabled', reason: 'Test source database: CloudWatch metrics suffice.' },
  ]);
  return database;
}

function fidelityChecks(stack: Stack, task: DmsMigrationTask, network: NatEgressForReplication, database: rds.DatabaseInstance,
  neon: NeonTargetEndpoint): void {
  MigrationPreflight.forTask(stack, 'Preflight', {
    task,
    network,
    sourceSecret: database.secret!,
    sourceDatabaseName: 'app',
    targetSecret: neon.clientCredentialsSecret,
  });
  MigrationVerification.forTask(stack, 'Verification', {
    task,
    network,
    sourceSecret: database.secret!,
    sourceDatabaseName: 'app',
    targetSecret: neon.clientCredentialsSecret,
  });
}
