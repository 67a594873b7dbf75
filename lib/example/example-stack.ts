import { CfnOutput, CustomResource, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledgeSampleDataProvider } from './nag';
import { DEFAULT_SAMPLE_SIZE, SampleDataSize } from './sample-schema';
import { SourceLoaderFunction } from './source-loader-function';
import { createRotatingKey } from '../core/kms';
import { acknowledgeRules } from '../core/nag';
import { DmsMigrationTask } from '../migration/migration-task';
import { MigrationAlarms } from '../monitoring/alarms';
import { MigrationDashboard } from '../monitoring/dashboard';
import { NeonTargetEndpoint } from '../neon/target-endpoint';
import { NatEgressForReplication } from '../network/nat-egress';
import { ReplicationInstance } from '../replication/replication-instance';
import { PostgresSourceEndpoint } from '../sources/postgres';
import { MigrationType } from '../task/migration-type';
import { TableMappings } from '../task/table-mappings';
import { LogComponent, LogSeverity, TaskSettings } from '../task/task-settings';

/**
 * Settings of the bundled example, read from CDK context (`cdk deploy -c name=value`).
 */
export interface ExampleSettings {
  /** Name or ARN of the Secrets Manager secret holding the Neon connection string (context `neonSecret`). */
  readonly neonSecret: string;
  /** JSON field of that secret holding the connection string; empty for a plain-string secret (context `neonSecretField`). */
  readonly neonSecretField?: string;
  /** Neon project id, to add the NAT's Elastic IP to its IP Allow list (context `neonProjectId`). */
  readonly neonProjectId?: string;
  /** Name or ARN of the secret holding a Neon API key, with `neonProjectId` (context `neonApiKeySecret`). */
  readonly neonApiKeySecret?: string;
  /** DMS replication instance class (context `replicationInstanceClass`). */
  readonly replicationInstanceClass: string;
  /** RDS instance type of the source database (context `sourceInstanceType`). */
  readonly sourceInstanceType: string;
  /** E-mail address notified of task failures and alarms (context `notificationEmail`). */
  readonly notificationEmail?: string;
  /** Rows to generate in the source (contexts `people`, `events`, `tickets`) and its schema (`schemaName`). */
  readonly sampleSize: SampleDataSize;
}

/** The placeholder secret name used when no `neonSecret` context is given. */
export const PLACEHOLDER_NEON_SECRET = 'neon/dms-example/connection';

/** Reads the example's settings from CDK context, with defaults that synthesize anywhere. */
export function exampleSettingsFromContext(scope: Construct): ExampleSettings {
  const ctx = (key: string): string | undefined => {
    const value = scope.node.tryGetContext(key);
    return value === undefined || value === '' ? undefined : String(value);
  };
  const num = (key: string, fallback: number): number => {
    const value = ctx(key);
    if (value === undefined) {
      return fallback;
    }
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 1) {
      throw new Error(`context ${key} must be a positive whole number, got "${value}"`);
    }
    return parsed;
  };
  return {
    neonSecret: ctx('neonSecret') ?? PLACEHOLDER_NEON_SECRET,
    neonSecretField: ctx('neonSecretField'),
    neonProjectId: ctx('neonProjectId'),
    neonApiKeySecret: ctx('neonApiKeySecret'),
    replicationInstanceClass: ctx('replicationInstanceClass') ?? 'dms.t3.medium',
    sourceInstanceType: ctx('sourceInstanceType') ?? 't4g.micro',
    notificationEmail: ctx('notificationEmail'),
    sampleSize: {
      schemaName: ctx('schemaName') ?? DEFAULT_SAMPLE_SIZE.schemaName,
      people: num('people', DEFAULT_SAMPLE_SIZE.people),
      events: num('events', DEFAULT_SAMPLE_SIZE.events),
      tickets: num('tickets', DEFAULT_SAMPLE_SIZE.tickets),
    },
  };
}

function importSecret(scope: Construct, id: string, nameOrArn: string): secretsmanager.ISecret {
  return nameOrArn.startsWith('arn:')
    ? secretsmanager.Secret.fromSecretPartialArn(scope, id, nameOrArn)
    : secretsmanager.Secret.fromSecretNameV2(scope, id, nameOrArn);
}

/** Props of the example stack. */
export interface NeonMigrationExampleStackProps extends StackProps {
  /** @default - read from CDK context (see `exampleSettingsFromContext`) */
  readonly settings?: ExampleSettings;
}

/**
 * The bundled example: the scenario of Neon's "Migrate with AWS DMS" guide. An RDS PostgreSQL 15
 * source in private subnets holding a `dms_sample` schema, a NAT path to Neon, and a full-load task
 * into Neon, started on deploy.
 */
export class NeonMigrationExampleStack extends Stack {
  public readonly network: NatEgressForReplication;
  public readonly source: rds.DatabaseInstance;
  public readonly target: NeonTargetEndpoint;
  public readonly sampleData: CustomResource;
  public readonly replicationInstance: ReplicationInstance;
  public readonly migration: DmsMigrationTask;

  constructor(scope: Construct, id: string, props: NeonMigrationExampleStackProps = {}) {
    super(scope, id, props);
    const settings = props.settings ?? exampleSettingsFromContext(this);

    // --- the network: private subnets for the source and the replication instance, NAT egress to Neon
    this.network = new NatEgressForReplication(this, 'Network', {
      neonIpAllow: settings.neonProjectId && settings.neonApiKeySecret
        ? {
          projectId: settings.neonProjectId,
          apiKeySecret: importSecret(this, 'NeonApiKey', settings.neonApiKeySecret),
        }
        : undefined,
    });

    // --- the source: RDS PostgreSQL 15, TLS enforced, logical replication on (for CDC later)
    const parameters = new rds.ParameterGroup(this, 'SourceParameters', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_15 }),
      description: 'dms_sample source: TLS only, logical replication for DMS',
      parameters: {
        'rds.force_ssl': '1',
        'rds.logical_replication': '1',
      },
    });
    const secretKey = createRotatingKey(this, 'SourceSecretKey', {
      description: 'Encrypts the example source database credentials',
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // the database answers connections; it opens none of its own
    const sourceSecurityGroup = new ec2.SecurityGroup(this, 'SourceSecurityGroup', {
      vpc: this.network.vpc,
      allowAllOutbound: false,
      description: 'Example source database: PostgreSQL from the replication instance and the loader',
    });
    this.source = new rds.DatabaseInstance(this, 'Source', {
      securityGroups: [sourceSecurityGroup],
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_15 }),
      instanceType: new ec2.InstanceType(settings.sourceInstanceType),
      vpc: this.network.vpc,
      vpcSubnets: this.network.replicationSubnets,
      databaseName: settings.sampleSize.schemaName,
      port: 5432,
      credentials: rds.Credentials.fromGeneratedSecret('postgres', { encryptionKey: secretKey }),
      parameterGroup: parameters,
      storageEncrypted: true,
      allocatedStorage: 20,
      multiAz: false,
      publiclyAccessible: false,
      backupRetention: Duration.days(1),
      deletionProtection: false,
      removalPolicy: RemovalPolicy.DESTROY,
      cloudwatchLogsExports: ['postgresql', 'upgrade'],
    });
    const sourceSecret = this.source.secret!;

    // --- sample data, loaded from inside the VPC
    const loaderSecurityGroup = new ec2.SecurityGroup(this, 'LoaderSecurityGroup', {
      vpc: this.network.vpc,
      allowAllOutbound: false,
      description: 'Sample-data loader: PostgreSQL to the source, HTTPS to Secrets Manager',
    });
    // Secrets Manager through the network's interface endpoint (private DNS), nothing else outside the VPC
    loaderSecurityGroup.connections.allowTo(this.network.secretsManagerEndpoint!, ec2.Port.tcp(443), 'Secrets Manager interface endpoint');
    this.source.connections.allowFrom(loaderSecurityGroup, ec2.Port.tcp(5432), 'Sample-data loader');
    const loader = new SourceLoaderFunction(this, 'SampleDataLoader', {
      description: 'cdk-neon-migration example: creates and fills the sample schema in the source',
      vpc: this.network.vpc,
      vpcSubnets: this.network.replicationSubnets,
      securityGroups: [loaderSecurityGroup],
      timeout: Duration.minutes(10),
      memorySize: 512,
    });
    sourceSecret.grantRead(loader);
    const loaderProvider = new cr.Provider(this, 'SampleDataProvider', { onEventHandler: loader });
    this.sampleData = new CustomResource(this, 'SampleData', {
      serviceToken: loaderProvider.serviceToken,
      resourceType: 'Custom::SampleData',
      properties: {
        SecretArn: sourceSecret.secretArn,
        DatabaseName: settings.sampleSize.schemaName,
        SchemaName: settings.sampleSize.schemaName,
        People: String(settings.sampleSize.people),
        Events: String(settings.sampleSize.events),
        Tickets: String(settings.sampleSize.tickets),
      },
    });
    this.sampleData.node.addDependency(this.source, this.network.egressReady);

    // --- the target: Neon, credentials parsed from the secret at deploy time
    this.target = new NeonTargetEndpoint(this, 'Neon', {
      connectionStringSecret: importSecret(this, 'NeonConnectionString', settings.neonSecret),
      connectionStringSecretField: settings.neonSecretField,
    });

    // --- replication: a private instance next to the source, reaching Neon through the NAT
    this.replicationInstance = new ReplicationInstance(this, 'ReplicationInstance', {
      network: this.network,
      instanceClass: settings.replicationInstanceClass,
    });
    const sourceEndpoint = PostgresSourceEndpoint.fromRdsInstance(this, 'SourceEndpoint', {
      instance: this.source,
      databaseName: settings.sampleSize.schemaName,
    });

    // --- the task: the guide's full load of dms_sample.%, validated, logged, started on deploy; it lets
    // the replication instance into the source database and tests both connections first. The schema
    // (tables with their sequences and defaults) is copied into Neon before the load, the indexes,
    // foreign keys and sequence positions after it
    this.migration = new DmsMigrationTask(this, 'Migration', {
      source: sourceEndpoint,
      target: this.target,
      replicationInstance: this.replicationInstance,
      migrationType: MigrationType.FULL_LOAD,
      tableMappings: TableMappings.includeSchema(settings.sampleSize.schemaName),
      settings: new TaskSettings({
        logSeverities: [{ component: LogComponent.TARGET_LOAD, severity: LogSeverity.DEBUG }],
      }),
      startOnDeploy: true,
      waitForCompletion: true,
      schemaCopy: { network: this.network },
    });
    this.migration.lifecycle.node.addDependency(this.sampleData);
    // the schema is read from the source once the sample data created it
    this.migration.schemaCopy?.addBeforeDependency(this.sampleData);

    // --- watching it: alarms (task failures, CDC latency, storage) to an encrypted topic, and a dashboard
    const alarms = new MigrationAlarms(this, 'Alarms', { migration: this.migration });
    if (settings.notificationEmail) {
      alarms.topic.addSubscription(new subscriptions.EmailSubscription(settings.notificationEmail));
    }
    const dashboard = new MigrationDashboard(this, 'Dashboard', { migrations: [this.migration] });
    dashboard.addAlarmStatus(alarms.alarms);
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${dashboard.dashboard.dashboardName}`,
      description: 'CloudWatch dashboard of the migration: progress, throughput, latency, instance health',
    });

    // the task declares its own outputs: MigrationTaskArn, MigrationSourceSecretArn (psql access from
    // inside the VPC), MigrationTargetSecretArn, and the stack's NeonMigrationRegion
    new CfnOutput(this, 'TaskLogGroup', {
      value: `dms-tasks-${this.replicationInstance.replicationInstanceIdentifier}`,
      description: 'CloudWatch log group of the task (DMS names it after the replication instance)',
    });
    new CfnOutput(this, 'TaskConsoleUrl', {
      value: `https://console.aws.amazon.com/dms/v2/home?region=${this.region}#taskDetails/${this.migration.taskIdentifier}`,
      description: 'The task in the DMS console: progress, table statistics, logs',
    });

    acknowledgeRules(this.source, [
      { id: 'AwsSolutions-RDS3', reason: 'Example source database: a single-AZ instance keeps its cost low; it only lives for the migration.' },
      { id: 'AwsSolutions-RDS10', reason: 'Example source database: `cdk destroy` must remove it; deletion protection would block the teardown.' },
      { id: 'AwsSolutions-RDS11', reason: 'The source stays in private subnets reachable only from the replication instance and the loader; the default port is fine.' },
      { id: 'AwsSolutions-SMG4', reason: 'Example credentials live only as long as the migration; rotation would add a rotation Lambda to the example.' },
      { id: 'NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled', reason: 'Example source database: `cdk destroy` must remove it.' },
      { id: 'NIST.800.53.R5-RDSMultiAZSupport', reason: 'Example source database: single-AZ keeps its cost low.' },
      { id: 'NIST.800.53.R5-RDSInBackupPlan', reason: 'Example source database: its data is generated by the stack and can be regenerated; AWS Backup adds nothing.' },
      { id: 'NIST.800.53.R5-RDSInstanceBackupEnabled', reason: 'Backups are kept for one day; the source data is generated and can be regenerated.' },
      { id: 'NIST.800.53.R5-SecretsManagerRotationEnabled', reason: 'Example credentials live only as long as the migration.' },
      { id: 'NIST.800.53.R5-RDSEnhancedMonitoringEnabled', reason: 'Example source database: CloudWatch metrics and exported PostgreSQL logs suffice.' },
    ]);
    acknowledgeSampleDataProvider(loaderProvider, loader, 'loader', 'the loader, which runs in the VPC');
    acknowledgeRules(loader, [
      { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reason: 'The loader only writes its logs with this managed policy.' },
      { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]', reason: 'Needed to attach the loader to the VPC, next to the source database.' },
      { id: 'NIST.800.53.R5-LambdaConcurrency', reason: 'Runs once per deploy.' },
      { id: 'NIST.800.53.R5-LambdaDLQ', reason: 'Synchronous custom-resource handler: CloudFormation receives every failure.' },
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The loader may only read the source secret: an inline policy scoped to it.' },
    ]);
  }
}
