import { App, Duration, Environment, SecretValue, Stack, Token } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { MigrationPreflight, MigrationVerification } from '../../lib/checks';
import { DmsMigrationTask } from '../../lib/migration';
import { NeonTargetEndpoint } from '../../lib/neon';
import { NatEgressForReplication } from '../../lib/network/nat-egress';
import { ReplicationCompute } from '../../lib/replication';
import { PostgresSourceEndpoint } from '../../lib/sources/postgres';
import { LobMode, MigrationType, TableMappings, TaskSettings, TargetTablePrepMode } from '../../lib/task';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

const NEON_URI = 'postgresql://daniel@ep-curly-term-54009904.us-east-2.aws.neon.tech/neondb?sslmode=require';
const SOURCE_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:source-db-AbCdEf';

function setup(app: App = new App(), env?: Environment) {
  const stack = new Stack(app, 'S', { env });
  const network = new NatEgressForReplication(stack, 'Network');
  const sourceSecret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'SourceSecret', SOURCE_ARN);
  const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
  return { stack, network, sourceSecret, target };
}

function task(stack: Stack, network: NatEgressForReplication, target: NeonTargetEndpoint, settings?: TaskSettings, migrationType = MigrationType.FULL_LOAD, id = 'Migration', waitForCompletion = true) {
  const secret = secretsmanager.Secret.fromSecretCompleteArn(stack, `${id}SourceSecret`, SOURCE_ARN);
  const sourceEndpoint = new PostgresSourceEndpoint(stack, `${id}Source`, { secret, databaseName: 'app', logicalReplicationEnabled: true });
  return new DmsMigrationTask(stack, id, {
    source: sourceEndpoint,
    target,
    network,
    tableMappings: TableMappings.includeSchema('app'),
    migrationType,
    settings,
    waitForCompletion,
  });
}

function resourceId(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as any);
}

describe('MigrationPreflight', () => {
  test('runs in the VPC with the given network and reads exactly the given secrets', () => {
    const { stack, network, sourceSecret, target } = setup();
    new MigrationPreflight(stack, 'Preflight', {
      network,
      sourceSecret,
      sourceDatabaseName: 'app',
      targetSecret: target.clientCredentialsSecret,
      tableMappings: TableMappings.includeSchema('app'),
      migrationType: MigrationType.FULL_LOAD_AND_CDC,
      lobMode: LobMode.LIMITED,
      lobMaxSizeKb: 1024,
      acknowledgedFindings: ['NO_PRIMARY_KEY'],
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('Custom::NeonMigrationPreflight', {
      Action: 'preflight',
      SourceSecretArn: SOURCE_ARN,
      SourceDatabaseName: 'app',
      TargetSecretArn: { Ref: Match.stringLikeRegexp('NeonClientCredentials') },
      TableMappings: Match.stringLikeRegexp('"schema-name":"app"'),
      MigrationType: 'full-load-and-cdc',
      LobMode: 'LIMITED',
      LobMaxSizeKb: '1024',
      TargetTablePrepMode: 'DO_NOTHING',
      AcknowledgedFindings: ['NO_PRIMARY_KEY'],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('checks and compares the data'),
      Timeout: 900,
      VpcConfig: {
        SecurityGroupIds: Match.arrayWith([{ 'Fn::GetAtt': [Match.stringLikeRegexp('NetworkSecurityGroup'), 'GroupId'] }]),
        SubnetIds: [{ Ref: Match.stringLikeRegexp('NetworkVpcReplicationSubnet1') }, { Ref: Match.stringLikeRegexp('NetworkVpcReplicationSubnet2') }],
      },
    });
    // the function reaches Neon only once the NAT route exists
    const fn = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { VpcConfig: Match.anyValue() } }))[0] as any;
    const routes = Object.keys(template.findResources('AWS::EC2::Route', { Properties: { NatGatewayId: Match.anyValue() } }));
    expect(routes.length).toBeGreaterThan(0);
    expect(fn.DependsOn).toEqual(expect.arrayContaining(routes));
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('HTTPS to Secrets Manager and CloudWatch'),
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443, IpProtocol: 'tcp' })],
    });
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('NeonDmsFidelityProviderRole') }] } });
    const statements = Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const secretStatements = statements.filter((s: any) => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
    const secretResources = secretStatements.flatMap((s: any) => [s.Resource].flat());
    expect(secretResources).toHaveLength(2);
    expect(secretResources).toContainEqual(SOURCE_ARN);
    expect(secretResources).toContainEqual({ Ref: expect.stringMatching(/NeonClientCredentials/) });
    expect(JSON.stringify(secretStatements)).not.toContain('"*"');
    expect(statements).toEqual(expect.arrayContaining([expect.objectContaining({
      Action: 'cloudwatch:PutMetricData',
      Resource: '*',
      Condition: { StringEquals: { 'cloudwatch:namespace': 'CdkNeonMigration' } },
    })]));
  });

  test('a secret with a customer managed key also grants kms:Decrypt on that key', () => {
    const { stack, network } = setup();
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const secret = new secretsmanager.Secret(stack, 'Db', { encryptionKey: key });
    new MigrationPreflight(stack, 'Preflight', { network, sourceSecret: secret, sourceDatabaseName: 'app', tableMappings: TableMappings.includeSchema('app') });
    const template = Template.fromStack(stack);
    const keyPolicy = JSON.stringify(template.findResources('AWS::KMS::Key'));
    expect(keyPolicy).toContain('kms:Decrypt');
    expect(keyPolicy).toMatch(/NeonDmsFidelityProviderRole/);
  });

  test('forTask reads mappings, migration type and LOB settings from the task and holds its start', () => {
    const { stack, network, sourceSecret, target } = setup();
    const settings = new TaskSettings({ lobMode: LobMode.LIMITED, lobMaxSizeKb: 512, targetTablePrepMode: TargetTablePrepMode.TRUNCATE_BEFORE_LOAD });
    const migration = task(stack, network, target, settings);
    const preflight = MigrationPreflight.forTask(stack, 'Preflight', { task: migration, network, sourceSecret, sourceDatabaseName: 'app' });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('Custom::NeonMigrationPreflight', {
      MigrationType: 'full-load',
      LobMode: 'LIMITED',
      LobMaxSizeKb: '512',
      TargetTablePrepMode: 'TRUNCATE_BEFORE_LOAD',
      // the task's Neon target, whose pre-created tables it checks
      TargetSecretArn: { Ref: stack.getLogicalId(target.clientCredentialsSecret.node.defaultChild as any) },
    });
    const start = template.toJSON().Resources[resourceId(stack, migration.lifecycle.resource)];
    expect(start.DependsOn).toEqual(expect.arrayContaining([resourceId(stack, preflight.resource)]));
  });

  test('forTask takes the network, the source\'s secret and database and the target\'s secret from the task', () => {
    const { stack, network, target } = setup();
    const migration = task(stack, network, target);
    MigrationPreflight.forTask(stack, 'Preflight', { task: migration });
    MigrationVerification.forTask(stack, 'Verification', { task: migration });
    const template = Template.fromStack(stack);
    const expected = {
      SourceSecretArn: SOURCE_ARN,
      SourceDatabaseName: 'app',
      TargetSecretArn: { Ref: stack.getLogicalId(target.clientCredentialsSecret.node.defaultChild as any) },
    };
    template.hasResourceProperties('Custom::NeonMigrationPreflight', expected);
    template.hasResourceProperties('Custom::NeonMigrationVerification', expected);
    // the check runs in the task's network: its function has the network's security group
    template.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: { SecurityGroupIds: Match.arrayWith([{ 'Fn::GetAtt': [stack.getLogicalId(network.securityGroup.node.defaultChild as any), 'GroupId'] }]) },
    });
    // node-postgres sends SNI: the function reads the plain password, never the DMS endpoint's endpoint=<id>$<password> form
    const dmsSecret = stack.getLogicalId(target.credentialsSecret.node.defaultChild as any);
    const readers = Object.values<any>(template.findResources('AWS::IAM::Policy'))
      .filter(p => JSON.stringify(p.Properties.PolicyDocument).includes(`"Ref":"${dmsSecret}"`))
      .map(p => p.Properties.Roles);
    // (only the DMS endpoint's access role reads it, in its inline policy)
    expect(readers).toEqual([]);
    const accessRole = template.toJSON().Resources[stack.getLogicalId(target.accessRole.node.defaultChild as any)];
    expect(JSON.stringify(accessRole.Properties.Policies)).toContain(dmsSecret);
  });

  test('the DMS endpoint\'s secret (endpoint=<id>$<password>) is refused as targetSecret: the functions send SNI', () => {
    const { stack, network, sourceSecret, target } = setup();
    const migration = task(stack, network, target);
    const message = 'targetSecret is a Neon DMS endpoint\'s credentials secret (NeonTargetEndpoint.credentialsSecret), whose password is written '
      + 'endpoint=<endpoint_id>$<password> for DMS, which sends no TLS SNI.';
    expect(() => MigrationPreflight.forTask(stack, 'Preflight', { task: migration, targetSecret: target.credentialsSecret }))
      .toThrow(`MigrationPreflight: ${message} The preflight function (node-postgres, with the host name) sends SNI, and Neon then takes the whole `
        + 'string for the password (password authentication failed): pass the endpoint\'s clientCredentialsSecret instead.');
    expect(() => MigrationVerification.forTask(stack, 'Verification', { task: migration, targetSecret: target.credentialsSecret }))
      .toThrow(`MigrationVerification: ${message}`);
    expect(() => new MigrationPreflight(stack, 'Direct', { network, sourceSecret, sourceDatabaseName: 'app', targetSecret: target.credentialsSecret, tableMappings: TableMappings.includeSchema('app') }))
      .toThrow(`MigrationPreflight: ${message}`);
  });

  test('forTask with a source endpoint that does not know its secret names what to set', () => {
    const { stack, network, target } = setup();
    const imported = PostgresSourceEndpoint.fromEndpointAttributes(stack, 'Imported', {
      endpointArn: 'arn:aws:dms:us-east-1:123456789012:endpoint:SRC', endpointIdentifier: 'src', port: 5432,
    });
    const migration = new DmsMigrationTask(stack, 'Migration', { source: imported, target, network, schemaName: 'app', waitForCompletion: true });
    expect(() => MigrationPreflight.forTask(stack, 'Preflight', { task: migration })).toThrow(
      /^MigrationPreflight\.forTask: the task's source endpoint does not tell its secret and database \(an imported endpoint\): set sourceSecret/);
  });

  test('forTask runs after the schema copy\'s pre-data step: the target tables it checks exist by then', () => {
    const { stack, network, target } = setup();
    const sourceSecret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'CopySource', SOURCE_ARN);
    const source = new PostgresSourceEndpoint(stack, 'CopySourceEndpoint', { secret: sourceSecret, databaseName: 'app' });
    const migration = new DmsMigrationTask(stack, 'Migration', { source, target, network, schemaName: 'app', waitForCompletion: true, schemaCopy: {} });
    const preflight = MigrationPreflight.forTask(stack, 'Preflight', { task: migration });
    const template = Template.fromStack(stack);
    const pre = stack.getLogicalId(migration.schemaCopy!.before.node.defaultChild as any);
    expect(template.toJSON().Resources[resourceId(stack, preflight.resource)].DependsOn).toEqual(expect.arrayContaining([pre]));
  });

  test('without LOB support no LOB size is sent', () => {
    const { stack, network, sourceSecret } = setup();
    new MigrationPreflight(stack, 'Preflight', { network, sourceSecret, sourceDatabaseName: 'app', tableMappings: TableMappings.includeSchema('app'), lobMode: LobMode.NONE });
    Template.fromStack(stack).hasResourceProperties('Custom::NeonMigrationPreflight', { LobMode: 'NONE', LobMaxSizeKb: Match.absent() });
  });

  test('validation errors name the property', () => {
    const { stack, network, sourceSecret } = setup();
    const base = { network, sourceSecret, sourceDatabaseName: 'app', tableMappings: TableMappings.includeSchema('app') };
    expect(() => new MigrationPreflight(stack, 'A', { ...base, lobMaxSizeKb: 0 })).toThrow(/MigrationPreflight: lobMaxSizeKb is 0; use an integer from 1 to 102400\./);
    expect(() => new MigrationPreflight(stack, 'B', { ...base, lobMode: LobMode.FULL, lobMaxSizeKb: 64 })).toThrow(/lobMaxSizeKb applies only to LobMode.LIMITED \(lobMode is FULL\)/);
    expect(() => new MigrationPreflight(stack, 'C', { ...base, acknowledgedFindings: ['no pk'] })).toThrow(/acknowledgedFindings lists a code no preflight finding has: 'no pk'\./);
    expect(() => new MigrationPreflight(stack, 'D', { ...base, sourceDatabaseName: ' ' })).toThrow(/MigrationPreflight: sourceDatabaseName is empty/);
  });

  test('an acknowledged code no finding has is an error naming it and listing the known codes', () => {
    const { stack, network, sourceSecret, target } = setup();
    const base = { network, sourceSecret, sourceDatabaseName: 'app', tableMappings: TableMappings.includeSchema('app') };
    expect(() => new MigrationPreflight(stack, 'A', { ...base, acknowledgedFindings: ['NO_PRIMARY_KEY', 'NO_PRIMARY_KEYS'] })).toThrow(
      new Error("MigrationPreflight: acknowledgedFindings lists a code no preflight finding has: 'NO_PRIMARY_KEYS'. Known codes: NO_PRIMARY_KEY, "
        + 'ARRAY_WITHOUT_PK, LOB_COLUMN_DROPPED, LOB_TRUNCATED, LOB_COLUMN, UNSUPPORTED_TYPE, UNKNOWN_TYPE, TYPE_CONVERTED, NUMERIC_PRECISION_LOSS, '
        + 'WAL_LEVEL, MAX_REPLICATION_SLOTS, MAX_WAL_SENDERS, WAL_SENDER_TIMEOUT, REPLICATION_PRIVILEGE, REPLICATION_SLOT, TARGET_TABLE_MISSING, '
        + 'TARGET_COLUMN_MISSING, TARGET_COLUMN_TYPE, TARGET_COLUMN_REQUIRED, TARGET_COLUMN_EXTRA, TARGET_NOT_EMPTY, TABLE_NOT_FOUND, NO_TABLES_SELECTED, '
        + 'TARGET_CONNECTIONS, TARGET_STORAGE, TARGET_STORAGE_UNCHECKED, MYSQL_ZERO_DATE, MYSQL_UNSIGNED_OVERFLOW, MYSQL_TINYINT_BOOLEAN, '
        + 'MYSQL_ENUM_SET, MYSQL_UTF8MB3, MYSQL_CASE_INSENSITIVE_UNIQUE, MYSQL_TRAILING_SPACE_UNIQUE, MYSQL_DATETIME, MYSQL_TIME_ZONE, MYSQL_FLOAT, '
        + 'MYSQL_UNSUPPORTED_TYPE, MYSQL_BINLOG, MYSQL_BINLOG_FORMAT, MYSQL_BINLOG_ROW_IMAGE, MYSQL_BINLOG_RETENTION, MYSQL_REPLICATION_PRIVILEGE.'));
    expect(() => new MigrationPreflight(stack, 'B', { ...base, acknowledgedFindings: ['LOB_TRUNCATE', 'WAL', 'LOB_TRUNCATE'] }))
      .toThrow(/acknowledgedFindings lists codes no preflight finding has: 'LOB_TRUNCATE', 'WAL'\. Known codes: /);
    const migration = task(stack, network, target);
    expect(() => MigrationPreflight.forTask(stack, 'C', { task: migration, network, sourceSecret, sourceDatabaseName: 'app', acknowledgedFindings: ['NOPK'] }))
      .toThrow(/'NOPK'\. Known codes: NO_PRIMARY_KEY, /);
    expect(() => new MigrationPreflight(stack, 'D', { ...base, acknowledgedFindings: ['NO_PRIMARY_KEY', 'LOB_TRUNCATED', 'NO_TABLES_SELECTED'] })).not.toThrow();
  });

  test('token values are not validated at synth time', () => {
    const { stack, network, sourceSecret } = setup();
    expect(() => new MigrationPreflight(stack, 'P', {
      network,
      sourceSecret,
      sourceDatabaseName: Token.asString({ Ref: 'DbName' }),
      tableMappings: TableMappings.includeSchema('app'),
      lobMaxSizeKb: Token.asNumber({ Ref: 'LobSize' }),
    })).not.toThrow();
  });
});

describe('MigrationVerification', () => {
  test('forTask runs after the task lifecycle, publishes metrics and outputs a summary', () => {
    const { stack, network, sourceSecret, target } = setup();
    const migration = task(stack, network, target);
    const verification = MigrationVerification.forTask(stack, 'Verification', {
      task: migration, network, sourceSecret, sourceDatabaseName: 'app', targetSecret: target.clientCredentialsSecret, maxDifferences: 10,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('Custom::NeonMigrationVerification', {
      Action: 'verify',
      TaskIdentifier: stack.resolve(migration.taskIdentifier),
      FailOnDifference: 'true',
      MaxDifferences: '10',
      NormalizeNumericScale: 'true',
      TargetSecretArn: { Ref: Match.stringLikeRegexp('NeonClientCredentials') },
    });
    const resource = template.toJSON().Resources[resourceId(stack, verification.resource)];
    expect(resource.DependsOn).toEqual(expect.arrayContaining([resourceId(stack, migration.lifecycle.resource)]));
    const outputs = template.findOutputs('*', { Value: { 'Fn::GetAtt': [resourceId(stack, verification.resource), 'Summary'] } });
    expect(Object.keys(outputs)).toHaveLength(1);
    expect(stack.resolve(verification.metricMismatchedRows('app.users').dimensions)).toEqual({ TaskIdentifier: stack.resolve(migration.taskIdentifier), Table: 'app.users' });
    expect(verification.metricMismatchedRows('app.users').namespace).toBe('CdkNeonMigration');
  });

  test('several checks share one provider and one VPC function per stack', () => {
    const { stack, network, sourceSecret, target } = setup();
    const first = task(stack, network, target, undefined, MigrationType.FULL_LOAD, 'First');
    const second = task(stack, network, target, undefined, MigrationType.FULL_LOAD, 'Second');
    MigrationVerification.forTask(stack, 'V1', { task: first, network, sourceSecret, sourceDatabaseName: 'app', targetSecret: target.clientCredentialsSecret });
    MigrationVerification.forTask(stack, 'V2', { task: second, network, sourceSecret, sourceDatabaseName: 'app', targetSecret: target.clientCredentialsSecret, failOnDifference: false });
    MigrationPreflight.forTask(stack, 'P1', { task: first, network, sourceSecret, sourceDatabaseName: 'app' });
    const template = Template.fromStack(stack);
    template.resourceCountIs('Custom::NeonMigrationVerification', 2);
    template.resourceCountIs('Custom::NeonMigrationPreflight', 1);
    const vpcFunctions = template.findResources('AWS::Lambda::Function', { Properties: { VpcConfig: Match.anyValue() } });
    expect(Object.keys(vpcFunctions)).toHaveLength(1);
    expect(stack.node.tryFindChild('NeonDmsFidelityProvider')).toBeDefined();
    // each secret is granted once
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('NeonDmsFidelityProviderRole') }] } });
    const resources = Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement)
      .filter((s: any) => [s.Action].flat().includes('secretsmanager:GetSecretValue'))
      .flatMap((s: any) => [s.Resource].flat());
    expect(resources).toHaveLength(2);
    template.hasResourceProperties('Custom::NeonMigrationVerification', { FailOnDifference: 'false' });
  });

  test('forTask warns that a load outlasting maxWait fails the verification, unless the schema copy\'s steps after the load wait for it', () => {
    const atMaxWait = (stack: Stack) => Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('verificationAtMaxWait'));
    const plain = setup();
    MigrationVerification.forTask(plain.stack, 'Verification', { task: task(plain.stack, plain.network, plain.target) });
    expect(atMaxWait(plain.stack).map(w => w.entry.data)).toEqual([expect.stringMatching(
      /runs when the deployment stops waiting for the full load of S\/Migration.*maxWait \(default 50 minutes\).*Set maxWait above the load's length.*or add schemaCopy/)]);

    const copy = (deployAfterLoadSteps?: boolean) => {
      const { stack, network, target } = setup();
      const source = new PostgresSourceEndpoint(stack, 'CopySource', { secret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'CopySecret', SOURCE_ARN), databaseName: 'app' });
      const migration = new DmsMigrationTask(stack, 'Migration', { source, target, network, schemaName: 'app', waitForCompletion: true, schemaCopy: { deployAfterLoadSteps } });
      MigrationVerification.forTask(stack, 'Verification', { task: migration });
      return stack;
    };
    expect(atMaxWait(copy())).toEqual([]);
    // the steps after the load left to the user: nothing in the deployment waits for the rest of the load
    expect(atMaxWait(copy(false))).toHaveLength(1);
  });

  test('forTask on a task without waitForCompletion is an error naming the property and the fix', () => {
    const { stack, network, sourceSecret, target } = setup();
    const migration = task(stack, network, target, undefined, MigrationType.FULL_LOAD, 'Migration', false);
    expect(() => MigrationVerification.forTask(stack, 'Verification', { task: migration, network, sourceSecret, sourceDatabaseName: 'app', targetSecret: target.clientCredentialsSecret }))
      .toThrow(new Error('MigrationVerification.forTask: the task S/Migration does not set waitForCompletion, so its lifecycle completes as soon as '
        + 'the task has started and the comparison would run while the full load is still copying rows. Set waitForCompletion: true on the '
        + 'DmsMigrationTask (or create the MigrationVerification itself, with runAfter set to what completes after the load).'));
    expect(stack.node.tryFindChild('Verification')).toBeUndefined();
  });

  test('forTask accepts a task on DMS Serverless that waits for completion, and refuses one that does not', () => {
    const { stack, network, sourceSecret, target } = setup();
    const make = (id: string, waitForCompletion: boolean) => new DmsMigrationTask(stack, id, {
      source: new PostgresSourceEndpoint(stack, `${id}Source`, { secret: sourceSecret, databaseName: 'app' }),
      target,
      network,
      compute: ReplicationCompute.serverless({ maxCapacityUnits: 4 }),
      tableMappings: TableMappings.includeSchema('app'),
      waitForCompletion,
    });
    const options = { network, sourceSecret, sourceDatabaseName: 'app', targetSecret: target.clientCredentialsSecret };
    expect(() => MigrationVerification.forTask(stack, 'Waits', { ...options, task: make('Waiting', true) })).not.toThrow();
    expect(() => MigrationVerification.forTask(stack, 'Starts', { ...options, task: make('Starting', false) })).toThrow(/does not set waitForCompletion/);
  });

  test('a CDC task on a replication instance: differences re-checked after its latency, read from CloudWatch', () => {
    const { stack, network, sourceSecret, target } = setup();
    const migration = task(stack, network, target, undefined, MigrationType.FULL_LOAD_AND_CDC);
    MigrationVerification.forTask(stack, 'Verification', {
      task: migration, network, sourceSecret, sourceDatabaseName: 'app', targetSecret: target.clientCredentialsSecret, recheckRounds: 2,
    });
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('changes keep arriving'))).toHaveLength(0);
    const template = Template.fromStack(stack);
    const instance = stack.resolve(migration.replicationInstanceIdentifier);
    template.hasResourceProperties('Custom::NeonMigrationVerification', {
      RecheckInstanceIdentifier: instance,
      RecheckTaskResourceId: { 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: stack.getLogicalId(migration.replicationTask!) }] }] },
      RecheckMarginSeconds: '10',
      RecheckRounds: '2',
    });
    // the handler may read the latency: GetMetricData, which has no resource-level permissions
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([{ Action: 'cloudwatch:GetMetricData', Effect: 'Allow', Resource: '*' }]) },
    });
  });

  test('a full load is verified once, without re-checks or the metric permission', () => {
    const { stack, network, sourceSecret, target } = setup();
    const migration = task(stack, network, target);
    MigrationVerification.forTask(stack, 'Verification', { task: migration, network, sourceSecret, sourceDatabaseName: 'app', targetSecret: target.clientCredentialsSecret });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('Custom::NeonMigrationVerification', { RecheckTaskResourceId: Match.absent(), RecheckRounds: Match.absent() });
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).not.toContain('GetMetricData');
  });

  test('a CDC task on DMS Serverless gets a warning: its latency metrics are not read', () => {
    const { stack, network, sourceSecret, target } = setup();
    const migration = new DmsMigrationTask(stack, 'Serverless', {
      source: PostgresSourceEndpoint.fromEndpointArn(stack, 'Src', 'arn:aws:dms:us-east-1:123456789012:endpoint:SRC'),
      target,
      network,
      schemaName: 'app',
      migrationType: MigrationType.FULL_LOAD_AND_CDC,
      compute: ReplicationCompute.serverless({ maxCapacityUnits: 4 }),
      waitForCompletion: true,
    });
    MigrationVerification.forTask(stack, 'Verification', { task: migration, network, sourceSecret, sourceDatabaseName: 'app', targetSecret: target.clientCredentialsSecret });
    Annotations.fromStack(stack).hasWarning('/S/Verification', Match.stringLikeRegexp('runs on DMS Serverless, whose latency metrics the re-check cannot read'));
  });

  test('validation errors name the property', () => {
    const { stack, network, sourceSecret, target } = setup();
    const base = { network, sourceSecret, sourceDatabaseName: 'app', targetSecret: target.clientCredentialsSecret, tableMappings: TableMappings.includeSchema('app'), taskIdentifier: 't' };
    expect(() => new MigrationVerification(stack, 'A', { ...base, maxDifferences: 500 })).toThrow(/MigrationVerification: maxDifferences is 500; use an integer from 1 to 100\./);
    expect(() => new MigrationVerification(stack, 'B', { ...base, concurrency: 0 })).toThrow(/MigrationVerification: concurrency is 0; use an integer from 1 to 16\./);
    expect(() => new MigrationVerification(stack, 'C', { ...base, taskIdentifier: '' })).toThrow(/MigrationVerification: taskIdentifier is empty/);
    expect(() => new MigrationVerification(stack, 'D', { ...base, maxDifferences: Token.asNumber({ Ref: 'N' }) })).not.toThrow();
    expect(() => new MigrationVerification(stack, 'E', { ...base, cdcTaskArn: 'arn:aws:dms:us-east-1:123456789012:task:T' }))
      .toThrow('MigrationVerification: cdcTaskArn is set without cdcReplicationInstanceIdentifier: the task\'s latency metrics need both dimensions. Set both, or neither.');
    expect(() => new MigrationVerification(stack, 'F', { ...base, recheckRounds: 2 }))
      .toThrow('MigrationVerification: recheckMargin and recheckRounds apply to a verification during CDC; set cdcTaskArn and cdcReplicationInstanceIdentifier too.');
    const cdc = { ...base, cdcTaskArn: 'arn:aws:dms:us-east-1:123456789012:task:T', cdcReplicationInstanceIdentifier: 'ri' };
    expect(() => new MigrationVerification(stack, 'G', { ...cdc, recheckRounds: 11 })).toThrow(/MigrationVerification: recheckRounds is 11; use an integer from 1 to 10\./);
    expect(() => new MigrationVerification(stack, 'H', { ...cdc, recheckMargin: Duration.minutes(6) }))
      .toThrow('MigrationVerification: recheckMargin must be between 0 seconds and 5 minutes, got 360 seconds.');
    expect(() => new MigrationVerification(stack, 'I', { ...cdc, cdcTaskArn: 'arn:aws:dms:us-east-1:123456789012:endpoint:T' })).toThrow(/taskArn must be the ARN of a DMS replication task/);
  });
});

describe('stack checks', () => {
  function full(app: App, env?: Environment) {
    const { stack, network, sourceSecret, target } = setup(app, env);
    const migration = task(stack, network, target);
    MigrationPreflight.forTask(stack, 'Preflight', { task: migration, network, sourceSecret, sourceDatabaseName: 'app', targetSecret: target.clientCredentialsSecret });
    MigrationVerification.forTask(stack, 'Verification', { task: migration, network, sourceSecret, sourceDatabaseName: 'app', targetSecret: target.clientCredentialsSecret });
    return stack;
  }

  test('valid CloudFormation', () => {
    expectValidCloudFormation(full(new App()));
  });

  test('cdk-nag clean', () => {
    expectNagClean(full);
  });

  test('the custom resources carry secret ARNs only, no secret values or references', () => {
    const template = Template.fromStack(full(new App()));
    const resources = {
      ...template.findResources('Custom::NeonMigrationPreflight'),
      ...template.findResources('Custom::NeonMigrationVerification'),
    };
    expect(Object.keys(resources)).toHaveLength(2);
    for (const resource of Object.values(resources) as any[]) {
      expect(JSON.stringify(resource.Properties)).not.toMatch(/resolve:secretsmanager|password/i);
      expect(resource.Properties.SourceSecretArn).toBe(SOURCE_ARN);
    }
  });
});
