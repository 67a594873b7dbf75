import { Annotations, Aws, CfnResource, CustomResource, Duration, RemovalPolicy, SecretValue, Stack, Token } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IDependable } from 'constructs';
import { REPORT_FILE_PREFIX } from './assessment-report';
import { SCHEMA_CONVERSION_TYPE } from './kinds';
import { ActionItemAcknowledgement, DmsSchemaConversionProps } from './schema-conversion-props';
import { ConversionSourceEngine, deriveSelection, followSqlServerSchemas } from './selection';
import { ActionItemSeverity } from './severity';
import { IDmsEndpoint } from '../core/interfaces';
import { acknowledgeRules, nagFindingId } from '../core/nag';
import { openSourceDatabases } from '../core/open-database';
import { NeonPasswordForm } from '../neon/credential-forms';
import { MigrationProvider } from '../provider/provider';
import { createSubnetGroup, resolvePlacement } from '../replication/placement';
import { completeSecretArn } from '../secrets/complete-arn';
import { grantSecretRead } from '../secrets/grant-read';
import { TargetTablePrepMode } from '../task/task-settings';

const OWNER = 'DmsSchemaConversion';
/** The longest a step waits: a custom resource answers within an hour. */
const MAX_STEP_MINUTES = 55;
const MIN_STEP_MINUTES = 5;
const DEFAULT_REPORT_RETENTION = Duration.days(90);


/** What a source engine takes in a data provider. */
interface ProviderEngine {
  readonly conversion: ConversionSourceEngine;
  readonly engine: string;
  readonly settingsKey: string;
  readonly needsDatabase: boolean;
}

/**
 * Converts the schema of a MySQL, Oracle or SQL Server source into Neon with DMS Schema Conversion,
 * before the data migration, as Neon's guide asks for a database other than PostgreSQL.
 *
 * Declares a DMS Schema Conversion migration project (`AWS::DMS::MigrationProject`): an instance
 * profile in the replication subnets and security group (private), a data provider for the source
 * and one for Neon (PostgreSQL, SSL, the client credentials secret `NeonTargetEndpoint` writes: see
 * `neonPasswordForm`), a bucket for
 * the project's files (SSE-S3, versioned, TLS only, expiring) and the roles DMS assumes to read the
 * two secrets and to write the bucket. At deploy time two custom resources of the stack's shared
 * provider run the project: `convert` assesses and converts the objects the task's selection rules
 * select, and fails the deployment on action items at or above `failOn` (with their counts, the
 * first ones and the S3 location of the full report); `apply` exports the converted objects to Neon
 * (StartMetadataModelExportToTarget), after checking that they land in the schemas the task writes
 * to. The task must start after `completion`.
 *
 * @example
 * import * as rds from 'aws-cdk-lib/aws-rds';
 * import {
 *   ActionItemSeverity, DmsSchemaConversion, MySqlSourceEndpoint, NatEgressForReplication, NeonTargetEndpoint, TableMappings, TransformationTarget,
 * } from 'cdk-neon-migration';
 *
 * declare const network: NatEgressForReplication;
 * declare const database: rds.DatabaseInstance;
 * declare const neon: NeonTargetEndpoint;
 *
 * const source = new MySqlSourceEndpoint(this, 'Source', { secret: database.secret!, databaseConnections: database });
 * new DmsSchemaConversion(this, 'Conversion', {
 *   network,
 *   source,
 *   target: neon,
 *   tableMappings: TableMappings.includeSchema('shop')
 *     .convertLowercase(TransformationTarget.TABLE)
 *     .convertLowercase(TransformationTarget.COLUMN),
 *   failOn: ActionItemSeverity.MEDIUM,
 *   acknowledgedActionItems: [{ actionItem: 9997, reason: 'The trigger is rewritten by hand after the load.' }],
 * });
 */
export class DmsSchemaConversion extends Construct implements ec2.IConnectable {
  /** The bucket of the migration project: assessment reports and DMS Schema Conversion's files. */
  public readonly bucket: s3.Bucket;
  /** The `AWS::DMS::MigrationProject`. */
  public readonly migrationProject: CfnResource;
  /** ARN of the migration project. */
  public readonly migrationProjectArn: string;
  /** The `AWS::DMS::InstanceProfile` DMS Schema Conversion connects from. */
  public readonly instanceProfile: CfnResource;
  /** The source's `AWS::DMS::DataProvider`. */
  public readonly sourceDataProvider: CfnResource;
  /** Neon's `AWS::DMS::DataProvider` (PostgreSQL). */
  public readonly targetDataProvider: CfnResource;
  /** The role DMS assumes to read the source's and Neon's secrets. */
  public readonly secretsAccessRole: iam.Role;
  /** The role DMS assumes to write the project's bucket. */
  public readonly bucketAccessRole: iam.Role;
  /** The assessment and the conversion: fails on blocking action items. */
  public readonly convert: CustomResource;
  /** The export of the converted objects to Neon. */
  public readonly apply: CustomResource;
  /** Completes when the converted schema is in Neon: the replication task starts after it. */
  public readonly completion: IDependable;
  /** The replication security group the instance profile uses (ec2.IConnectable). */
  public readonly connections: ec2.Connections;

  constructor(scope: Construct, id: string, props: DmsSchemaConversionProps) {
    super(scope, id);
    const network = props.network;
    if (!network) {
      throw new Error(`${OWNER}: network is required: DMS Schema Conversion connects from the replication subnets, where it reaches the source and Neon.`);
    }
    const engine = providerEngineOf(props.source);
    const source = props.source as unknown as SourceDetails;
    if (!source.secret || !source.resource) {
      throw new Error(`${OWNER}: the source must be a MySqlSourceEndpoint, OracleSourceEndpoint or SqlServerSourceEndpoint created by this library: `
        + 'DMS Schema Conversion reads the source\'s credentials from the endpoint\'s secret.');
    }
    if (engine.needsDatabase && source.databaseName === undefined) {
      throw new Error(`${OWNER}: the ${engine.engine} source has no databaseName, which DMS Schema Conversion connects to.`);
    }
    const target = props.target;
    if (!target.credentialsSecret || !target.clientCredentialsSecret || target.host === undefined) {
      throw new Error(`${OWNER}: target must be a NeonTargetEndpoint created by this library: its credentials secret is the Neon data provider's.`);
    }
    // Neon takes the plain password from a client that sends SNI, endpoint=<id>$<password> from one that does not
    const targetSecret = props.neonPasswordForm === NeonPasswordForm.ENDPOINT_IN_PASSWORD ? target.credentialsSecret : target.clientCredentialsSecret;
    if (props.taskSettings?.targetTablePrepMode === TargetTablePrepMode.DROP_AND_CREATE) {
      throw new Error(`${OWNER}: the task's TargetTablePrepMode.DROP_AND_CREATE would drop the converted tables (with their defaults, constraints `
        + 'and indexes) and create bare ones: use DO_NOTHING or TRUNCATE_BEFORE_LOAD.');
    }
    const timeoutMinutes = validateTimeout(props.timeout);
    const acknowledged = validateAcknowledgements(props.acknowledgedActionItems ?? []);
    const retention = props.reportRetention ?? DEFAULT_REPORT_RETENTION;
    if (!retention.isUnresolved() && retention.toDays({ integral: false }) < 1) {
      throw new Error(`${OWNER}: reportRetention must be at least 1 day, got ${retention.toHumanString()}.`);
    }

    const mappings = props.tableMappings;
    let selection = deriveSelection(mappings.rules, engine.conversion, source.databaseName);
    if (selection.errors.length > 0) {
      throw new Error(selection.errors.join('\n'));
    }
    if (engine.conversion === ConversionSourceEngine.SQL_SERVER && props.renameSqlServerSchemas !== false) {
      // the converted schemas are <database>_<schema>: the task loads into them
      const renames = followSqlServerSchemas(mappings, source.databaseName!, selection.schemas);
      if (renames.errors.length > 0) {
        throw new Error(renames.errors.join('\n'));
      }
      for (const [from, to] of renames.added) {
        Annotations.of(this).addInfo(`The task loads the SQL Server schema '${from}' into '${to}', where DMS Schema Conversion converts it `
          + `(<database>_<schema>): renameSchema('${from}', '${to}') was added to its table mappings.`);
      }
      selection = deriveSelection(mappings.rules, engine.conversion, source.databaseName);
    }
    for (const warning of selection.warnings) {
      Annotations.of(this).addWarningV2('cdk-neon-migration:conversionNameCase', warning);
    }

    // ---- where DMS Schema Conversion runs: private, in the replication subnets and security group
    const placement = resolvePlacement(this, OWNER, { network });
    this.connections = new ec2.Connections({ securityGroups: placement.securityGroups });
    const subnetGroup = createSubnetGroup(this, 'SubnetGroup', `cdk-neon-migration schema conversion of ${this.node.path}`,
      placement.subnetIds, props.manageAccountRoles ?? true);
    this.instanceProfile = new CfnResource(this, 'InstanceProfile', {
      type: 'AWS::DMS::InstanceProfile',
      properties: {
        SubnetGroupIdentifier: subnetGroup.ref,
        VpcSecurityGroups: placement.securityGroups.map(group => group.securityGroupId),
        // the API's default is a public IP address
        PubliclyAccessible: false,
        NetworkType: 'IPV4',
      },
    });

    // ---- the project's bucket: reports and DMS Schema Conversion's files (it supports SSE-S3 only)
    const bucketRemovalPolicy = props.bucketRemovalPolicy ?? RemovalPolicy.RETAIN;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: retention, noncurrentVersionExpiration: retention, abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      serverAccessLogsBucket: props.serverAccessLogsBucket,
      removalPolicy: bucketRemovalPolicy,
      // S3 deletes no bucket that holds an object version or a delete marker: a versioned bucket
      // removed with the stack is emptied first, version by version (aws-cdk-lib's custom resource)
      autoDeleteObjects: bucketRemovalPolicy === RemovalPolicy.DESTROY,
    });

    // ---- the roles DMS assumes for the project
    this.bucketAccessRole = dmsRole(this, 'BucketAccessRole', `Lets DMS Schema Conversion write the files of ${this.node.path}`);
    this.bucketAccessRole.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['s3:PutObject', 's3:GetObject', 's3:GetObjectVersion'],
      resources: [this.bucket.arnForObjects('*')],
    }));
    this.bucketAccessRole.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['s3:ListBucket', 's3:GetBucketLocation', 's3:GetBucketVersioning'],
      resources: [this.bucket.bucketArn],
    }));
    this.secretsAccessRole = dmsRole(this, 'SecretsAccessRole', `Lets DMS Schema Conversion read the credentials of ${this.node.path}`);
    grantSecretRead(this, source.secret, this.secretsAccessRole);
    targetSecret.grantRead(this.secretsAccessRole);

    // ---- the data providers
    const sourceSecretArn = completeSecretArn(this, source.secret, 'source.secret');
    const serverName = props.sourceServerName
      ?? SecretValue.secretsManager(sourceSecretArn, { jsonField: 'host' }).unsafeUnwrap();
    const certificate = source.resource.certificateArn;
    this.sourceDataProvider = new CfnResource(this, 'SourceDataProvider', {
      type: 'AWS::DMS::DataProvider',
      properties: {
        Engine: engine.engine,
        Settings: {
          [engine.settingsKey]: {
            ServerName: serverName,
            Port: props.source.port,
            ...(engine.needsDatabase ? { DatabaseName: source.databaseName } : {}),
            SslMode: source.sslMode ?? 'require',
            ...(certificate ? { CertificateArn: certificate } : {}),
          },
        },
      },
    });
    const targetCertificate = target.endpoint?.certificateArn;
    this.targetDataProvider = new CfnResource(this, 'TargetDataProvider', {
      type: 'AWS::DMS::DataProvider',
      properties: {
        Engine: 'postgres',
        Settings: {
          PostgreSqlSettings: {
            ServerName: target.host,
            Port: target.port,
            DatabaseName: target.databaseName,
            SslMode: target.sslMode,
            ...(targetCertificate ? { CertificateArn: targetCertificate } : {}),
          },
        },
      },
    });

    // ---- the migration project
    this.migrationProject = new CfnResource(this, 'MigrationProject', {
      type: 'AWS::DMS::MigrationProject',
      properties: {
        InstanceProfileIdentifier: this.instanceProfile.getAtt('InstanceProfileArn'),
        SourceDataProviderDescriptors: [{
          DataProviderIdentifier: this.sourceDataProvider.getAtt('DataProviderArn'),
          SecretsManagerSecretId: sourceSecretArn,
          SecretsManagerAccessRoleArn: this.secretsAccessRole.roleArn,
        }],
        TargetDataProviderDescriptors: [{
          DataProviderIdentifier: this.targetDataProvider.getAtt('DataProviderArn'),
          SecretsManagerSecretId: targetSecret.secretArn,
          SecretsManagerAccessRoleArn: this.secretsAccessRole.roleArn,
        }],
        SchemaConversionApplicationAttributes: {
          S3BucketPath: `s3://${this.bucket.bucketName}`,
          S3BucketRoleArn: this.bucketAccessRole.roleArn,
        },
      },
    });
    // DMS checks that it can use the roles (and their permissions) when the project is created
    this.migrationProject.node.addDependency(this.secretsAccessRole, this.bucketAccessRole);
    this.migrationProjectArn = this.migrationProject.getAtt('MigrationProjectArn').toString();

    // ---- the deploy-time steps, on the stack's shared provider
    const provider = MigrationProvider.of(this);
    const permissions = new iam.Policy(this, 'RunProject', {
      roles: [provider.role],
      statements: [
        new iam.PolicyStatement({
          // the IAM actions of the DMS Schema Conversion operations (Describe* → List*)
          actions: [
            'dms:StartMetadataModelImport', 'dms:DescribeMetadataModelImports',
            'dms:StartMetadataModelAssessment', 'dms:ListMetadataModelAssessments', 'dms:ExportMetadataModelAssessment',
            'dms:StartMetadataModelConversion', 'dms:ListMetadataModelConversions', 'dms:GetTargetSelectionRules',
            'dms:StartMetadataModelExportToTarget', 'dms:ListMetadataModelExports',
          ],
          resources: [this.migrationProjectArn],
        }),
        // DescribeDataProviders: the server names the selection rules locate objects by (no resource-level permissions)
        new iam.PolicyStatement({ actions: ['dms:ListDataProviders'], resources: ['*'] }),
        new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [this.bucket.arnForObjects(`*${REPORT_FILE_PREFIX}*`)] }),
        // without it S3 answers AccessDenied for a report not written yet, instead of NoSuchKey (GetObject, Permissions)
        new iam.PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [this.bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': `*${REPORT_FILE_PREFIX}*` } },
        }),
      ],
    });

    const common = {
      MigrationProjectArn: this.migrationProjectArn,
      SourceDataProviderArn: this.sourceDataProvider.getAtt('DataProviderArn').toString(),
      Schemas: JSON.stringify(selection.schemas),
      Engine: engine.conversion,
      DatabaseName: engine.conversion === ConversionSourceEngine.SQL_SERVER ? source.databaseName : undefined,
      TimeoutMinutes: String(timeoutMinutes),
    };
    this.convert = new CustomResource(this, 'Convert', {
      serviceToken: provider.serviceToken,
      resourceType: SCHEMA_CONVERSION_TYPE,
      properties: {
        Step: 'convert',
        ...common,
        Rules: JSON.stringify(selection.rules),
        BucketName: this.bucket.bucketName,
        FailOn: props.failOn ?? ActionItemSeverity.HIGH,
        Acknowledged: JSON.stringify(acknowledged),
        Refresh: props.refresh,
      },
    });
    this.apply = new CustomResource(this, 'Apply', {
      serviceToken: provider.serviceToken,
      resourceType: SCHEMA_CONVERSION_TYPE,
      properties: {
        Step: 'apply',
        ...common,
        Conversion: this.convert.ref,
        OverwriteExtensionPack: props.overwriteExtensionPack === false ? 'false' : 'true',
      },
    });
    for (const step of [this.convert, this.apply]) {
      step.node.addDependency(permissions, this.migrationProject);
      if (placement.egressReady) {
        step.node.addDependency(placement.egressReady);
      }
    }
    this.apply.node.addDependency(this.convert);
    // DMS Schema Conversion reaches the source like the replication compute does
    openSourceDatabases([props.source], this, this.convert, this);
    this.completion = this.apply;

    this.acknowledge(props, permissions);
  }

  /** Start the conversion only after `dependables` exist (e.g. the source's data). */
  public addConvertDependency(...dependables: IDependable[]): void {
    this.convert.node.addDependency(...dependables);
  }

  private acknowledge(props: DmsSchemaConversionProps, permissions: iam.Policy): void {
    const objects = `${this.bucket.bucketArn}/*`;
    acknowledgeRules(this.bucket, [
      { id: 'NIST.800.53.R5-S3DefaultEncryptionKMS', reason: 'DMS Schema Conversion supports SSE-S3 only for the bucket of a migration project; the bucket uses SSE-S3 and refuses requests without TLS.' },
      { id: 'NIST.800.53.R5-S3BucketReplicationEnabled', reason: 'The bucket holds assessment reports and conversion files that the next deployment writes again; they expire after reportRetention.' },
      ...(props.serverAccessLogsBucket ? [] : [
        { id: 'AwsSolutions-S1', reason: 'Only DMS writes the bucket, through the project\'s role, and the deploy-time handler reads it; pass serverAccessLogsBucket for server access logs.' },
        { id: 'NIST.800.53.R5-S3BucketLoggingEnabled', reason: 'Only DMS writes the bucket, through the project\'s role, and the deploy-time handler reads it; pass serverAccessLogsBucket for server access logs.' },
      ]),
    ]);
    acknowledgeRules(this.bucketAccessRole, [
      { id: nagFindingId(this, 'AwsSolutions-IAM5', 'Resource', objects), reason: 'DMS Schema Conversion writes and reads the files of the project under keys it chooses, in the project\'s own bucket.' },
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The policy names this project\'s bucket only and belongs to the role DMS assumes for it.' },
    ]);
    acknowledgeRules(this.secretsAccessRole, [
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The policy reads the two secrets of this project only and belongs to the role DMS assumes for it.' },
    ]);
    acknowledgeRules(permissions, [
      {
        id: nagFindingId(this, 'AwsSolutions-IAM5', 'Resource', `${this.bucket.bucketArn}/*${REPORT_FILE_PREFIX}*`),
        reason: 'The handler reads the assessment reports it names (cdk-neon-migration-assessment-<request>) under a folder DMS chooses in the project\'s own bucket.',
      },
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'dms:ListDataProviders (DescribeDataProviders) supports no resource-level permissions; the handler reads the server names of this project\'s data providers.' },
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The policy names this migration project and its bucket, which exist in this stack only.' },
    ]);
  }
}

/** What the source endpoint classes of this library expose, read without depending on each class. */
interface SourceDetails {
  readonly secret?: secretsmanager.ISecret;
  readonly sslMode?: string;
  readonly databaseName?: string;
  readonly resource?: dms.CfnEndpoint;
}

function providerEngineOf(source: IDmsEndpoint): ProviderEngine {
  const name = source.engineName;
  if (Token.isUnresolved(name)) {
    throw new Error(`${OWNER}: the source's engine must be known at synth.`);
  }
  switch (name) {
    case 'postgres':
    case 'aurora-postgresql':
      throw new Error(`${OWNER}: the source is PostgreSQL, which needs no schema conversion into Neon: copy its schema with the PostgreSQL `
        + 'client tools instead (DmsMigrationTask schemaCopy, PostgresSchemaCopy).');
    case 'mysql':
    case 'mariadb':
    case 'aurora':
      // MariaDB and Aurora MySQL speak MySQL: DMS treats them as MySQL
      return { conversion: ConversionSourceEngine.MYSQL, engine: 'mysql', settingsKey: 'MySqlSettings', needsDatabase: false };
    case 'oracle':
      return { conversion: ConversionSourceEngine.ORACLE, engine: 'oracle', settingsKey: 'OracleSettings', needsDatabase: true };
    case 'sqlserver':
      return { conversion: ConversionSourceEngine.SQL_SERVER, engine: 'sqlserver', settingsKey: 'MicrosoftSqlServerSettings', needsDatabase: true };
    default:
      throw new Error(`${OWNER}: DMS Schema Conversion into PostgreSQL is offered here for MySQL, Oracle and SQL Server sources, not '${name}'.`);
  }
}

/**
 * A role DMS assumes for this account's DMS resources only (confused-deputy conditions), through its
 * global and its regional service principal.
 */
function dmsRole(scope: Construct, id: string, description: string): iam.Role {
  const stack = Stack.of(scope);
  const conditions = {
    StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
    ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:dms:${Aws.REGION}:${Aws.ACCOUNT_ID}:*` },
  };
  const role = new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('dms.amazonaws.com').withConditions(conditions),
    description,
  });
  // AWS's Schema Conversion walkthrough (AWS Database Blog) names schema-conversion.dms.amazonaws.com
  // and the regional DMS principal, AWS's setup skill dms.amazonaws.com: all three
  role.assumeRolePolicy!.addStatements(new iam.PolicyStatement({
    actions: ['sts:AssumeRole'],
    principals: [new iam.ServicePrincipal(`dms.${stack.region}.amazonaws.com`), new iam.ServicePrincipal('schema-conversion.dms.amazonaws.com')],
    conditions,
  }));
  return role;
}

function validateTimeout(timeout: Duration | undefined): number {
  const value = timeout ?? Duration.minutes(MAX_STEP_MINUTES);
  if (value.isUnresolved()) {
    throw new Error(`${OWNER}: timeout must be known at synth.`);
  }
  const minutes = value.toMinutes({ integral: false });
  if (minutes < MIN_STEP_MINUTES || minutes > MAX_STEP_MINUTES) {
    throw new Error(`${OWNER}: timeout must be from ${MIN_STEP_MINUTES} to ${MAX_STEP_MINUTES} minutes, got ${value.toHumanString()}: the deployment `
      + 'waits for each step in a custom resource, which must answer within an hour.');
  }
  return Math.floor(minutes);
}

function validateAcknowledgements(items: ActionItemAcknowledgement[]): { ActionItem: string; Occurrence?: string }[] {
  return items.map((item, i) => {
    if (!Token.isUnresolved(item.actionItem) && (!Number.isInteger(item.actionItem) || item.actionItem < 1)) {
      throw new Error(`${OWNER}: acknowledgedActionItems[${i}].actionItem must be the action item's number from the report, got ${item.actionItem}.`);
    }
    if (!Token.isUnresolved(item.reason) && item.reason.trim().length < 10) {
      throw new Error(`${OWNER}: acknowledgedActionItems[${i}] (action item ${item.actionItem}) needs a reason of at least 10 characters: `
        + 'why the item does not block the migration.');
    }
    return { ActionItem: String(item.actionItem), ...(item.occurrence ? { Occurrence: item.occurrence } : {}) };
  });
}
