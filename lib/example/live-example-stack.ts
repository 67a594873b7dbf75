import { CfnOutput, CustomResource, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledgeSampleDataProvider } from './nag';
import { SampleDataSize } from './sample-schema';
import { SourceLoaderFunction } from './source-loader-function';
import { MigrationPreflight } from '../checks/migration-preflight';
import { MigrationVerification } from '../checks/migration-verification';
import { createRotatingKey } from '../core/kms';
import { acknowledgeRules } from '../core/nag';
import { DmsMigrationTask } from '../migration/migration-task';
import { MigrationAlarms } from '../monitoring/alarms';
import { MigrationDashboard } from '../monitoring/dashboard';
import { NeonTargetEndpoint } from '../neon/target-endpoint';
import { ExistingEgressForReplication } from '../network/existing-egress';
import { PostgresSourceEndpoint } from '../sources/postgres';
import { MigrationType } from '../task/migration-type';

/**
 * Settings of the live-migration example, read from CDK context (`cdk deploy -c name=value`).
 */
export interface LiveExampleSettings {
  /** Name of the secret holding the Neon connection string (context `neonSecret`). */
  readonly neonSecret: string;
  /** Neon project id, for the compute kept awake during the migration (context `neonProjectId`). */
  readonly neonProjectId: string;
  /** Name of the secret holding a Neon API key (context `neonApiKeySecret`). */
  readonly neonApiKeySecret: string;
  /** The sample schema and its size (contexts `schemaName`, `people`, `events`, `tickets`). */
  readonly sampleSize: SampleDataSize;
}

/** Reads the live example's settings from CDK context, with placeholders that synthesize anywhere. */
export function liveExampleSettingsFromContext(scope: Construct): LiveExampleSettings {
  const ctx = (key: string, fallback: string): string => {
    const value = scope.node.tryGetContext(key);
    return value === undefined || value === '' ? fallback : String(value);
  };
  const num = (key: string, fallback: number): number => {
    const value = Number(ctx(key, String(fallback)));
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`context ${key} must be a positive whole number, got "${ctx(key, '')}"`);
    }
    return value;
  };
  return {
    neonSecret: ctx('neonSecret', 'neon/live-example/connection'),
    neonProjectId: ctx('neonProjectId', 'your-neon-project-id'),
    neonApiKeySecret: ctx('neonApiKeySecret', 'neon/live-example/api-key'),
    sampleSize: { schemaName: ctx('schemaName', 'dms_sample'), people: num('people', 10_000), events: num('events', 500), tickets: num('tickets', 100_000) },
  };
}

/**
 * What a team already runs before it migrates: a VPC whose private subnets reach the internet through
 * NAT gateways (the layout `new ec2.Vpc` gives), and an application database on RDS for PostgreSQL in
 * those subnets, with logical replication on, filled with the sample schema. The migration stack
 * changes none of it but the database's security group (one ingress rule).
 */
export class ApplicationStack extends Stack {
  public readonly vpc: ec2.Vpc;
  public readonly database: rds.DatabaseInstance;

  constructor(scope: Construct, id: string, props: StackProps & { readonly sampleSize: SampleDataSize }) {
    super(scope, id, props);
    // ec2.Vpc's layout: a public and a NAT-backed private subnet per zone, one NAT gateway per zone
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, mapPublicIpOnLaunch: false },
        { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      ],
    });
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', { retention: logs.RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.DESTROY });
    this.vpc.addFlowLog('FlowLog', { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs) });
    acknowledgeRules(this.vpc, [
      { id: 'NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW', reason: 'The application VPC\'s public subnets hold its NAT gateways, which need the internet gateway.' },
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The flow log role may only write to the flow log group.' },
    ]);
    acknowledgeRules(flowLogs, [
      { id: 'NIST.800.53.R5-CloudWatchLogGroupEncrypted', reason: 'VPC flow logs hold addresses and ports, no payload; CloudWatch Logs encrypts them at rest.' },
    ]);

    const engine = rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 });
    const group = new ec2.SecurityGroup(this, 'DatabaseSecurityGroup', { vpc: this.vpc, allowAllOutbound: false, description: 'Application database' });
    this.database = new rds.DatabaseInstance(this, 'Database', {
      engine,
      instanceType: new ec2.InstanceType('t4g.micro'),
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [group],
      databaseName: props.sampleSize.schemaName,
      port: 5432,
      credentials: rds.Credentials.fromGeneratedSecret('postgres', {
        encryptionKey: createRotatingKey(this, 'DatabaseSecretKey', { description: 'Encrypts the application database credentials', removalPolicy: RemovalPolicy.DESTROY }),
      }),
      // TLS only; logical replication for the live migration (a static parameter: set before the task starts)
      parameterGroup: new rds.ParameterGroup(this, 'DatabaseParameters', {
        engine, parameters: { 'rds.force_ssl': '1', 'rds.logical_replication': '1' },
      }),
      storageEncrypted: true,
      allocatedStorage: 20,
      backupRetention: Duration.days(1),
      deletionProtection: false,
      removalPolicy: RemovalPolicy.DESTROY,
      cloudwatchLogsExports: ['postgresql', 'upgrade'],
    });
    acknowledgeRules(this.database, [
      { id: 'AwsSolutions-RDS3', reason: 'Example application database: single-AZ keeps its cost low.' },
      { id: 'AwsSolutions-RDS10', reason: 'Example application database: `cdk destroy` must remove it.' },
      { id: 'AwsSolutions-RDS11', reason: 'In private subnets, reachable from the loader and the migration only; the default port is fine.' },
      { id: 'AwsSolutions-SMG4', reason: 'Example credentials live as long as the example.' },
      { id: 'NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled', reason: 'Example application database: `cdk destroy` must remove it.' },
      { id: 'NIST.800.53.R5-RDSMultiAZSupport', reason: 'Example application database: single-AZ keeps its cost low.' },
      { id: 'NIST.800.53.R5-RDSInBackupPlan', reason: 'Its data is generated by the stack and can be regenerated.' },
      { id: 'NIST.800.53.R5-RDSInstanceBackupEnabled', reason: 'Backups are kept for one day; the data is generated.' },
      { id: 'NIST.800.53.R5-SecretsManagerRotationEnabled', reason: 'Example credentials live as long as the example.' },
      { id: 'NIST.800.53.R5-RDSEnhancedMonitoringEnabled', reason: 'CloudWatch metrics and exported PostgreSQL logs suffice.' },
    ]);

    // the sample data, loaded from the private subnets through their NAT gateways
    const loaderGroup = new ec2.SecurityGroup(this, 'LoaderSecurityGroup', {
      vpc: this.vpc, allowAllOutbound: false, description: 'Sample-data loader: PostgreSQL to the database, HTTPS to Secrets Manager',
    });
    loaderGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'Secrets Manager through the NAT gateways');
    this.database.connections.allowFrom(loaderGroup, ec2.Port.tcp(5432), 'Sample-data loader');
    const loader = new SourceLoaderFunction(this, 'SampleDataLoader', {
      description: 'cdk-neon-migration live example: creates and fills the sample schema in the application database',
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [loaderGroup],
      timeout: Duration.minutes(10),
      memorySize: 512,
    });
    this.database.secret!.grantRead(loader);
    const provider = new cr.Provider(this, 'SampleDataProvider', { onEventHandler: loader });
    const sampleData = new CustomResource(this, 'SampleData', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::SampleData',
      properties: {
        SecretArn: this.database.secret!.secretArn,
        DatabaseName: props.sampleSize.schemaName,
        SchemaName: props.sampleSize.schemaName,
        People: String(props.sampleSize.people),
        Events: String(props.sampleSize.events),
        Tickets: String(props.sampleSize.tickets),
      },
    });
    sampleData.node.addDependency(this.database, this.vpc.internetConnectivityEstablished);
    acknowledgeSampleDataProvider(provider, loader, 'loader', 'the loader, which runs in the VPC');
    acknowledgeRules(loader, [
      { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reason: 'The loader only writes its logs with this managed policy.' },
      { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]', reason: 'Needed to attach the loader to the VPC, next to the database.' },
      { id: 'NIST.800.53.R5-LambdaConcurrency', reason: 'Runs once per deploy.' },
      { id: 'NIST.800.53.R5-LambdaDLQ', reason: 'Synchronous custom-resource handler: CloudFormation receives every failure.' },
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The loader may only read the database secret: an inline policy scoped to it.' },
    ]);
  }
}

/** Props of the live-migration stack. */
export interface LiveMigrationStackProps extends StackProps {
  /** The application's VPC, whose private subnets reach the internet. */
  readonly vpc: ec2.IVpc;
  /** The application database: RDS for PostgreSQL with logical replication on. */
  readonly database: rds.DatabaseInstance;
  /** @default - read from CDK context (see `liveExampleSettingsFromContext`) */
  readonly settings?: LiveExampleSettings;
}

/**
 * A live (CDC) migration of an application database into Neon, in the application's own VPC, with
 * everything the README recommends for it: the schema copied around the full load, the preflight
 * with the target's capacity, DMS's premigration assessment, the Neon compute kept awake, the source's
 * WAL watched and its replication slot dropped afterwards, alarms and a dashboard, a verification that
 * re-checks rows in flight, and a role that may run the cutover check. The page a team copies.
 */
export class LiveMigrationStack extends Stack {
  public readonly network: ExistingEgressForReplication;
  public readonly migration: DmsMigrationTask;
  /** The role an operator assumes to run `npx cdk-neon-migration cutover`. */
  public readonly cutoverRole: iam.Role;

  constructor(scope: Construct, id: string, props: LiveMigrationStackProps) {
    super(scope, id, props);
    const settings = props.settings ?? liveExampleSettingsFromContext(this);
    const secret = (name: string, id2: string) => secretsmanager.Secret.fromSecretNameV2(this, id2, name);

    // the application's private subnets and their NAT gateways: nothing is added to the VPC but a security group
    this.network = new ExistingEgressForReplication(this, 'Network', { vpc: props.vpc });

    const source = PostgresSourceEndpoint.fromRdsInstance(this, 'Source', {
      instance: props.database,
      databaseName: settings.sampleSize.schemaName,
    });
    const neon = new NeonTargetEndpoint(this, 'Neon', { connectionStringSecret: secret(settings.neonSecret, 'NeonConnection') });

    this.migration = new DmsMigrationTask(this, 'Migration', {
      source,
      target: neon,
      network: this.network,
      schemaName: settings.sampleSize.schemaName,
      migrationType: MigrationType.FULL_LOAD_AND_CDC,
      waitForCompletion: true,
      // the tables before the load; their indexes after it, before the changes are applied
      schemaCopy: {},
      // Neon's compute stays awake while the migration is in the stack (scale to zero off, restored on delete)
      neonCompute: { projectId: settings.neonProjectId, apiKeySecret: secret(settings.neonApiKeySecret, 'NeonApiKey') },
      // DMS's own checks of the task, before its first start
      premigrationAssessment: {},
    });
    // what DMS would lose, and room on Neon for the load's sessions, before the start
    MigrationPreflight.forTask(this, 'Preflight', { task: this.migration, targetCapacity: {} });
    // every row compared after the load, differences re-checked after the task's latency
    MigrationVerification.forTask(this, 'Verification', { task: this.migration });

    // the task, the replication instance and the source's replication slot and storage, watched
    const alarms = new MigrationAlarms(this, 'Alarms', { migration: this.migration });
    const dashboard = new MigrationDashboard(this, 'Dashboard', { migrations: [this.migration] });
    dashboard.addAlarmStatus(alarms.alarms);

    // the cutover: an operator role that may read what `cutover` reads
    this.cutoverRole = new iam.Role(this, 'CutoverRole', {
      assumedBy: new iam.AccountRootPrincipal(),
      description: 'Assumed to run npx cdk-neon-migration cutover for the live migration',
    });
    this.migration.grantCutover(this.cutoverRole);
    acknowledgeRules(this.cutoverRole, [
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'DescribeReplicationTasks, DescribeReplicationInstances and GetMetricData have no resource-level permissions (Service Authorization Reference).' },
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The cutover role may only read the task, its instance and its latency metrics: an inline policy of three actions.' },
    ]);

    // the task declares the rest the cutover needs: MigrationCutoverCommand, MigrationTaskArn, the secrets'
    // ARNs (MigrationSourceSecretArn, MigrationTargetSecretArn) and the stack's NeonMigrationRegion
    new CfnOutput(this, 'CutoverRoleArn', { value: this.cutoverRole.roleArn, description: 'Assume it to run the cutover check' });
  }
}
