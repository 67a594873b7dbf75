import { App, Duration, Environment, SecretValue, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ActionItemSeverity, DmsSchemaConversion, DmsSchemaConversionProps } from '../../lib/conversion';
import { IDmsEndpoint } from '../../lib/core/interfaces';
import { DmsMigrationTask } from '../../lib/migration';
import { NeonPasswordForm, NeonTargetEndpoint } from '../../lib/neon';
import { NatEgressForReplication } from '../../lib/network/nat-egress';
import { MySqlSourceEndpoint, OracleSourceEndpoint, PostgresSourceEndpoint, SourceSslMode, SqlServerSourceEndpoint } from '../../lib/sources';
import { TableMappings, TableType, TargetTablePrepMode, TaskSettings, TransformationTarget } from '../../lib/task';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

const NEON_URI = 'postgresql://app@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require';
const SHOP = () => TableMappings.includeSchema('shop').convertLowercase(TransformationTarget.TABLE).convertLowercase(TransformationTarget.COLUMN);

function conversion(overrides: Partial<DmsSchemaConversionProps> = {}, app = new App(), env?: Environment) {
  const stack = new Stack(app, 'S', { env });
  const network = new NatEgressForReplication(stack, 'Network');
  const database = new rds.DatabaseInstance(stack, 'Database', {
    engine: rds.DatabaseInstanceEngine.mysql({ version: rds.MysqlEngineVersion.VER_8_0 }),
    vpc: network.vpc,
    vpcSubnets: network.replicationSubnets,
    credentials: rds.Credentials.fromGeneratedSecret('admin', { excludeCharacters: ' %+~`#$&*()|[]{}:;<>?!\'/@"\\,' }),
    storageEncrypted: true,
    deletionProtection: true,
    multiAz: true,
    iamAuthentication: true,
    enablePerformanceInsights: true,
    cloudwatchLogsExports: ['error', 'general', 'slowquery', 'audit'],
  });
  const source = new MySqlSourceEndpoint(stack, 'Source', { secret: database.secret!, databaseConnections: database });
  const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
  const construct = new DmsSchemaConversion(stack, 'Conversion', { network, source, target, tableMappings: SHOP(), ...overrides });
  return { stack, construct, network, database, source, target, template: () => Template.fromStack(stack) };
}

function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } } | unknown): string {
  const c = construct as { node: { defaultChild?: unknown } };
  return stack.getLogicalId((c.node.defaultChild ?? c) as any);
}

const TEST_DATABASE_ACKS = [
  ...['AwsSolutions-RDS10', 'AwsSolutions-RDS11', 'AwsSolutions-SMG4', 'NIST.800.53.R5-RDSInBackupPlan', 'NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled',
    'NIST.800.53.R5-SecretsManagerRotationEnabled', 'NIST.800.53.R5-SecretsManagerUsingKMSKey', 'NIST.800.53.R5-RDSEnhancedMonitoringEnabled', 'NIST.800.53.R5-RDSStorageEncrypted']
    .map(id => ({ id, reason: 'The test database only stands in for a MySQL source.', pathPattern: '^S/Database' })),
  { id: 'NIST.800.53.R5-EC2RestrictedCommonPorts', reason: 'The ingress rule admits only the replication security group, on the database port.', pathPattern: '^S/Database/SecurityGroup/from ' },
  { id: 'NIST.800.53.R5-EC2RestrictedSSH', reason: 'The ingress rule admits only the replication security group, on the database port.', pathPattern: '^S/Database/SecurityGroup/from ' },
];

describe('DmsSchemaConversion', () => {
  test('the instance profile is private, in the replication subnets and security group', () => {
    const { stack, network, template } = conversion();
    const t = template();
    t.hasResourceProperties('AWS::DMS::InstanceProfile', {
      PubliclyAccessible: false,
      NetworkType: 'IPV4',
      VpcSecurityGroups: [{ 'Fn::GetAtt': [logicalId(stack, network.securityGroup as ec2.SecurityGroup), 'GroupId'] }],
      SubnetGroupIdentifier: { Ref: Match.stringLikeRegexp('^ConversionSubnetGroup') },
    });
    const group = Object.values<any>(t.findResources('AWS::DMS::ReplicationSubnetGroup', { Properties: { ReplicationSubnetGroupDescription: Match.stringLikeRegexp('schema conversion') } }))[0];
    expect(group.Properties.SubnetIds).toEqual(network.vpc.privateSubnets.map(s => ({ Ref: logicalId(stack, s) })));
    // the subnet group waits for the account-level dms-vpc-role
    expect(group.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^DmsAccountRoles/)]));
  });

  test('a MySQL data provider (host from the endpoint\'s secret by dynamic reference, SSL) and a PostgreSQL one for Neon', () => {
    const { stack, database, target, template } = conversion();
    const t = template();
    const secret = { Ref: logicalId(stack, database.secret!) };
    t.hasResourceProperties('AWS::DMS::DataProvider', {
      Engine: 'mysql',
      Settings: { MySqlSettings: { ServerName: { 'Fn::Join': ['', ['{{resolve:secretsmanager:', secret, ':SecretString:host::}}']] }, Port: 3306, SslMode: 'require' } },
    });
    t.hasResourceProperties('AWS::DMS::DataProvider', {
      Engine: 'postgres',
      Settings: { PostgreSqlSettings: { ServerName: 'ep-cool-darkness-123456.us-east-2.aws.neon.tech', Port: 5432, DatabaseName: 'neondb', SslMode: 'require' } },
    });
    t.hasResourceProperties('AWS::DMS::MigrationProject', {
      InstanceProfileIdentifier: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ConversionInstanceProfile'), 'InstanceProfileArn'] },
      SourceDataProviderDescriptors: [{
        DataProviderIdentifier: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ConversionSourceDataProvider'), 'DataProviderArn'] },
        SecretsManagerSecretId: secret,
        SecretsManagerAccessRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ConversionSecretsAccessRole'), 'Arn'] },
      }],
      TargetDataProviderDescriptors: [{
        DataProviderIdentifier: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ConversionTargetDataProvider'), 'DataProviderArn'] },
        // the clients' credentials NeonTargetEndpoint writes: the plain password (a JDBC connection sends SNI)
        SecretsManagerSecretId: { Ref: logicalId(stack, target.clientCredentialsSecret as secretsmanager.Secret) },
        SecretsManagerAccessRoleArn: Match.anyValue(),
      }],
      SchemaConversionApplicationAttributes: {
        S3BucketPath: { 'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('^ConversionBucket') }]] },
        S3BucketRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ConversionBucketAccessRole'), 'Arn'] },
      },
    });
    // credentials reach DMS by secret only: no user name or password anywhere in what the construct declares
    const declared = JSON.stringify(['AWS::DMS::DataProvider', 'AWS::DMS::MigrationProject', 'AWS::DMS::InstanceProfile', 'Custom::DmsSchemaConversion']
      .map(type => t.findResources(type)));
    expect(declared).not.toMatch(/Password|Username|endpoint=/i);
  });

  test('the bucket: SSE-S3 (what DMS Schema Conversion supports), versioned, private, TLS only, expiring', () => {
    const t = conversion({ reportRetention: Duration.days(30) }).template();
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 30, NoncurrentVersionExpiration: { NoncurrentDays: 30 }, Status: 'Enabled' })] },
    });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  test('DMS assumes the project roles through its global and regional principals and DMS Schema Conversion\'s, for this account\'s DMS resources only', () => {
    const { stack, construct, template } = conversion();
    const t = template();
    const conditions = {
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':dms:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':*']] } },
    };
    for (const role of [construct.bucketAccessRole, construct.secretsAccessRole]) {
      expect(t.toJSON().Resources[logicalId(stack, role)].Properties.AssumeRolePolicyDocument.Statement).toEqual([
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'dms.amazonaws.com' }, Condition: conditions },
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: [{ 'Fn::Join': ['', ['dms.', { Ref: 'AWS::Region' }, '.amazonaws.com']] }, 'schema-conversion.dms.amazonaws.com'] },
          Condition: conditions,
        },
      ]);
    }
    const bucket = { 'Fn::GetAtt': [logicalId(stack, construct.bucket), 'Arn'] };
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(stack, construct.bucketAccessRole) }],
      PolicyDocument: {
        Statement: [
          { Action: ['s3:PutObject', 's3:GetObject', 's3:GetObjectVersion'], Effect: 'Allow', Resource: { 'Fn::Join': ['', [bucket, '/*']] } },
          { Action: ['s3:ListBucket', 's3:GetBucketLocation', 's3:GetBucketVersioning'], Effect: 'Allow', Resource: bucket },
        ],
      },
    });
  });

  test('the shared provider may run this project\'s operations only, and read its bucket', () => {
    const { stack, construct, template } = conversion();
    const policy = Object.values<any>(template().findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('^ConversionRunProject') } }))[0];
    expect(policy.Properties.Roles).toEqual([{ Ref: expect.stringMatching(/^NeonDmsMigrationProviderHandlerRole/) }]);
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      {
        Action: ['dms:StartMetadataModelImport', 'dms:DescribeMetadataModelImports',
          'dms:StartMetadataModelAssessment', 'dms:ListMetadataModelAssessments', 'dms:ExportMetadataModelAssessment', 'dms:StartMetadataModelConversion',
          'dms:ListMetadataModelConversions', 'dms:GetTargetSelectionRules', 'dms:StartMetadataModelExportToTarget', 'dms:ListMetadataModelExports'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [logicalId(stack, construct.migrationProject), 'MigrationProjectArn'] },
      },
      { Action: 'dms:ListDataProviders', Effect: 'Allow', Resource: '*' },
      // the reports it names, under the folder DMS chooses
      {
        Action: 's3:GetObject',
        Effect: 'Allow',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(stack, construct.bucket), 'Arn'] }, '/*cdk-neon-migration-assessment-*']] },
      },
      // listing those keys: S3 then answers NoSuchKey, not AccessDenied, for a report not written yet
      {
        Action: 's3:ListBucket',
        Condition: { StringLike: { 's3:prefix': '*cdk-neon-migration-assessment-*' } },
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [logicalId(stack, construct.bucket), 'Arn'] },
      },
    ]);
  });

  test('the Neon data provider\'s secret: the clients\' (plain password) by default, the DMS endpoint\'s with ENDPOINT_IN_PASSWORD; the role reads that one only', () => {
    const secretsRead = (t: Template, role: string) => Object.values<any>(t.findResources('AWS::IAM::Policy'))
      .filter(p => JSON.stringify(p.Properties.Roles).includes(role))
      .flatMap(p => p.Properties.PolicyDocument.Statement)
      .filter((st: any) => [st.Action].flat().includes('secretsmanager:GetSecretValue'))
      .map((st: any) => st.Resource);
    for (const [form, chosen, other] of [
      [undefined, 'clientCredentialsSecret', 'credentialsSecret'],
      [NeonPasswordForm.PLAIN, 'clientCredentialsSecret', 'credentialsSecret'],
      [NeonPasswordForm.ENDPOINT_IN_PASSWORD, 'credentialsSecret', 'clientCredentialsSecret'],
    ] as const) {
      const { stack, construct, database, target, template } = conversion({ neonPasswordForm: form });
      const t = template();
      const ref = (secret: secretsmanager.ISecret) => ({ Ref: logicalId(stack, secret as secretsmanager.Secret) });
      t.hasResourceProperties('AWS::DMS::MigrationProject', { TargetDataProviderDescriptors: [Match.objectLike({ SecretsManagerSecretId: ref(target[chosen]) })] });
      expect(secretsRead(t, logicalId(stack, construct.secretsAccessRole))).toEqual([ref(database.secret!), ref(target[chosen])]);
      const read = JSON.stringify(secretsRead(t, logicalId(stack, construct.secretsAccessRole)));
      expect(read).not.toContain(logicalId(stack, target[other] as secretsmanager.Secret));
    }
  });

  test('two steps: convert (with the task\'s rules, the gate) after the network and the source\'s ingress rule, apply after convert', () => {
    const { stack, construct, network, template } = conversion({
      failOn: ActionItemSeverity.MEDIUM,
      acknowledgedActionItems: [{ actionItem: 9997, reason: 'ENUM columns become VARCHAR with a CHECK constraint: fine.', occurrence: 'Servers.db.Schemas.shop' }],
      timeout: Duration.minutes(40),
    });
    const resources = template().toJSON().Resources;
    const convert = resources[logicalId(stack, construct.convert)];
    const apply = resources[logicalId(stack, construct.apply)];
    expect(convert.Type).toBe('Custom::DmsSchemaConversion');
    expect(convert.Properties).toEqual(expect.objectContaining({
      Step: 'convert',
      Engine: 'mysql',
      Schemas: JSON.stringify([{ source: 'shop', target: 'shop' }]),
      Rules: JSON.stringify([{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'include-1', 'rule-action': 'include', 'object-locator': { 'schema-name': 'shop', 'table-name': '%' } }]),
      FailOn: 'MEDIUM',
      Acknowledged: JSON.stringify([{ ActionItem: '9997', Occurrence: 'Servers.db.Schemas.shop' }]),
      TimeoutMinutes: '40',
      BucketName: { Ref: logicalId(stack, construct.bucket) },
    }));
    expect(apply.Properties).toEqual(expect.objectContaining({ Step: 'apply', Conversion: { Ref: logicalId(stack, construct.convert) }, OverwriteExtensionPack: 'true' }));
    expect(apply.DependsOn).toContain(logicalId(stack, construct.convert));
    const ingress = Object.keys(template().findResources('AWS::EC2::SecurityGroupIngress', {
      Properties: { GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseSecurityGroup'), 'GroupId'] }, FromPort: 3306 },
    }));
    expect(ingress).toHaveLength(1);
    expect(convert.DependsOn).toEqual(expect.arrayContaining([...ingress, logicalId(stack, network.securityGroup as ec2.SecurityGroup)]));
    for (const step of [convert, apply]) {
      expect(step.DependsOn).toEqual(expect.arrayContaining([logicalId(stack, construct.migrationProject), expect.stringMatching(/^ConversionRunProject/)]));
    }
    expect(construct.completion).toBe(construct.apply);
  });

  test('Oracle and SQL Server data providers connect to the endpoint\'s database, with its SSL mode and certificate', () => {
    const stack = new Stack(new App(), 'S');
    const network = new NatEgressForReplication(stack, 'Network');
    const secret = new secretsmanager.Secret(stack, 'Secret', { generateSecretString: { excludePunctuation: true } });
    const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
    const oracle = new OracleSourceEndpoint(stack, 'Oracle', { secret, databaseName: 'ORCL', certificateArn: 'arn:aws:dms:us-east-1:123456789012:cert:ORACLECA', port: 2484 });
    new DmsSchemaConversion(stack, 'OracleConversion', {
      network,
      source: oracle,
      target,
      sourceServerName: 'oracle.example.internal',
      tableMappings: SHOP().convertLowercase(TransformationTarget.SCHEMA),
    });
    const sqlserver = new SqlServerSourceEndpoint(stack, 'SqlServer', { secret, databaseName: 'Sales', sslMode: SourceSslMode.REQUIRE });
    new DmsSchemaConversion(stack, 'SqlServerConversion', {
      network, source: sqlserver, target, tableMappings: SHOP().renameSchema('shop', 'sales_shop'),
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::DMS::DataProvider', {
      Engine: 'oracle',
      Settings: { OracleSettings: { ServerName: 'oracle.example.internal', Port: 2484, DatabaseName: 'ORCL', SslMode: 'verify-ca', CertificateArn: 'arn:aws:dms:us-east-1:123456789012:cert:ORACLECA' } },
    });
    t.hasResourceProperties('AWS::DMS::DataProvider', {
      Engine: 'sqlserver',
      Settings: { MicrosoftSqlServerSettings: { ServerName: Match.anyValue(), Port: 1433, DatabaseName: 'Sales', SslMode: 'require' } },
    });
    t.hasResourceProperties('Custom::DmsSchemaConversion', { Step: 'apply', Engine: 'sqlserver', DatabaseName: 'Sales', Schemas: JSON.stringify([{ source: 'shop', target: 'sales_shop' }]) });
    t.hasResourceProperties('Custom::DmsSchemaConversion', { Step: 'convert', Engine: 'oracle', Schemas: JSON.stringify([{ source: 'shop', target: 'shop' }]) });
    expectValidCloudFormation(stack);
  });

  describe('SQL Server: DMS Schema Conversion converts schema s of database d into d_s', () => {
    function sqlServer(mappings: TableMappings, extra: Partial<DmsSchemaConversionProps> = {}) {
      const stack = new Stack(new App(), 'S');
      const network = new NatEgressForReplication(stack, 'Network');
      const secret = new secretsmanager.Secret(stack, 'Secret', { generateSecretString: { excludePunctuation: true } });
      const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
      const source = new SqlServerSourceEndpoint(stack, 'SqlServer', { secret, databaseName: 'Sales', sslMode: SourceSslMode.REQUIRE });
      return { stack, network, source, target, make: () => new DmsSchemaConversion(stack, 'Conversion', { network, source, target, tableMappings: mappings, ...extra }) };
    }

    test('the task\'s mappings get a rename of each selected schema no rule names: the load goes where the converted tables are', () => {
      const mappings = SHOP().include('dbo');
      const { stack, make } = sqlServer(mappings);
      make();
      expect(JSON.parse(mappings.toJson()).rules.filter((r: any) => r['rule-target'] === 'schema')).toEqual([
        { 'rule-type': 'transformation', 'rule-id': '5', 'rule-name': 'schema-conversion-shop', 'rule-target': 'schema', 'object-locator': { 'schema-name': 'shop' }, 'rule-action': 'rename', 'value': 'sales_shop' },
        { 'rule-type': 'transformation', 'rule-id': '6', 'rule-name': 'schema-conversion-dbo', 'rule-target': 'schema', 'object-locator': { 'schema-name': 'dbo' }, 'rule-action': 'rename', 'value': 'sales_dbo' },
      ]);
      const t = Template.fromStack(stack);
      // the apply step checks the converted schemas against these at deploy time
      t.hasResourceProperties('Custom::DmsSchemaConversion', { Step: 'apply', Schemas: JSON.stringify([{ source: 'shop', target: 'sales_shop' }, { source: 'dbo', target: 'sales_dbo' }]) });
      const infos = Annotations.fromStack(stack).findInfo('/S/Conversion', Match.stringLikeRegexp('renameSchema'));
      expect(infos.map(i => i.entry.data)).toEqual([
        'The task loads the SQL Server schema \'shop\' into \'sales_shop\', where DMS Schema Conversion converts it (<database>_<schema>): renameSchema(\'shop\', \'sales_shop\') was added to its table mappings.',
        'The task loads the SQL Server schema \'dbo\' into \'sales_dbo\', where DMS Schema Conversion converts it (<database>_<schema>): renameSchema(\'dbo\', \'sales_dbo\') was added to its table mappings.',
      ]);
    });

    test('through DmsMigrationTask: the replication task\'s TableMappings load into the converted schema', () => {
      const { stack, network, source, target } = sqlServer(SHOP());
      const mappings = SHOP();
      new DmsMigrationTask(stack, 'Migration', { source, target, network, tableMappings: mappings, schemaConversion: {} });
      const task = Object.values<any>(Template.fromStack(stack).findResources('AWS::DMS::ReplicationTask'))[0];
      expect(JSON.parse(task.Properties.TableMappings).rules).toEqual(expect.arrayContaining([
        expect.objectContaining({ 'rule-type': 'transformation', 'rule-target': 'schema', 'object-locator': { 'schema-name': 'shop' }, 'rule-action': 'rename', 'value': 'sales_shop' }),
      ]));
    });

    test('a rename to the converted schema is kept as it is; renameSqlServerSchemas: false leaves the mappings alone', () => {
      const own = SHOP().renameSchema('shop', 'sales_shop');
      sqlServer(own).make();
      expect(own.rules).toHaveLength(4);
      const untouched = SHOP();
      const { stack, make } = sqlServer(untouched, { renameSqlServerSchemas: false });
      make();
      expect(untouched.rules).toHaveLength(3);
      Template.fromStack(stack).hasResourceProperties('Custom::DmsSchemaConversion', { Step: 'apply', Schemas: JSON.stringify([{ source: 'shop', target: 'shop' }]) });
    });

    test('a rule that sends a selected schema elsewhere is refused, naming the rule and the converted schema', () => {
      expect(() => sqlServer(SHOP().renameSchema('shop', 'app')).make()).toThrow(
        'DmsSchemaConversion: DMS Schema Conversion converts the SQL Server schema \'Sales.shop\' into \'sales_shop\' (<database>_<schema>), but the '
        + 'transformation rule \'rename-4\' (rename on schema \'shop\') makes the task load it into \'app\', where no converted table is. Remove the '
        + 'rule (the construct then adds renameSchema(\'shop\', \'sales_shop\')), or make it rename to \'sales_shop\'; if the migration project names '
        + 'schemas otherwise, set renameSqlServerSchemas: false.');
      // a lower rule-id wins on conflict: an earlier lowercase rule on every schema would decide over an added rename
      expect(() => sqlServer(SHOP().convertLowercase(TransformationTarget.SCHEMA)).make()).toThrow(/'convert-lowercase-4' \(convert-lowercase on schema '%'\) makes the task load it into 'shop'/);
    });

    test('a converted name longer than 63 bytes is refused: the conversion shortens it with a hash', () => {
      const long = 's'.repeat(60);
      const lowercase = TableMappings.includeSchema(long).convertLowercase(TransformationTarget.TABLE).convertLowercase(TransformationTarget.COLUMN);
      expect(() => sqlServer(lowercase).make())
        .toThrow(/into 'sales_s{60}', which is longer than PostgreSQL's 63 bytes: .* Set renameSqlServerSchemas: false/);
    });
  });

  test('a MySQL mapping without lowercase column rules warns at synth', () => {
    const { stack } = conversion({ tableMappings: TableMappings.includeSchema('shop') });
    Annotations.fromStack(stack).hasWarning('/S/Conversion', Match.stringLikeRegexp('Add convertLowercase\\(TransformationTarget.TABLE\\) and convertLowercase\\(TransformationTarget.COLUMN\\)'));
  });

  describe('refused at synth', () => {
    test('a PostgreSQL source: its schema is copied, not converted', () => {
      const stack = new Stack(new App(), 'S');
      const network = new NatEgressForReplication(stack, 'Network');
      const secret = new secretsmanager.Secret(stack, 'Secret', { generateSecretString: { excludePunctuation: true } });
      const source = new PostgresSourceEndpoint(stack, 'Pg', { secret, databaseName: 'app' });
      const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
      expect(() => new DmsSchemaConversion(stack, 'Conversion', { network, source, target, tableMappings: SHOP() }))
        .toThrow(/the source is PostgreSQL, which needs no schema conversion into Neon: copy its schema with the PostgreSQL client tools instead \(DmsMigrationTask schemaCopy, PostgresSchemaCopy\)/);
    });

    test('a target table preparation mode that drops the converted tables', () => {
      expect(() => conversion({ taskSettings: new TaskSettings({ targetTablePrepMode: TargetTablePrepMode.DROP_AND_CREATE }) }))
        .toThrow(/TargetTablePrepMode.DROP_AND_CREATE would drop the converted tables .*: use DO_NOTHING or TRUNCATE_BEFORE_LOAD/);
      for (const mode of [TargetTablePrepMode.DO_NOTHING, TargetTablePrepMode.TRUNCATE_BEFORE_LOAD]) {
        expect(() => conversion({ taskSettings: new TaskSettings({ targetTablePrepMode: mode }) })).not.toThrow();
      }
    });

    test.each<[string, () => TableMappings, RegExp]>([
      ['schemas selected by a pattern', () => new TableMappings().include('shop_%').convertLowercase(TransformationTarget.TABLE).convertLowercase(TransformationTarget.COLUMN),
        /selects the schemas 'shop_%' by a pattern/],
      ['views selected as tables', () => SHOP().include('shop', 'v_%', TableType.VIEW, { ruleName: 'views' }), /the selection rule 'views' selects table-type 'view'/],
      ['a table rename', () => SHOP().renameTable('shop', 'orders', 'purchases'), /\(rename on table\)/],
    ])('selection rules the conversion cannot express: %s', (_name, mappings, message) => {
      expect(() => conversion({ tableMappings: mappings() })).toThrow(message);
    });

    test('an Oracle source without lowercase table and column rules', () => {
      const stack = new Stack(new App(), 'S');
      const network = new NatEgressForReplication(stack, 'Network');
      const secret = new secretsmanager.Secret(stack, 'Secret', { generateSecretString: { excludePunctuation: true } });
      const source = new OracleSourceEndpoint(stack, 'Oracle', { secret, databaseName: 'ORCL', certificateArn: 'arn:aws:dms:us-east-1:123456789012:cert:CA' });
      const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
      expect(() => new DmsSchemaConversion(stack, 'C', { network, source, target, tableMappings: TableMappings.includeSchema('HR') }))
        .toThrow(/Oracle names are upper case/);
    });

    test.each<[string, Partial<DmsSchemaConversionProps>, RegExp]>([
      ['a step timeout over 55 minutes', { timeout: Duration.minutes(70) }, /timeout must be from 5 to 55 minutes, got 1 hour 10 minutes/],
      ['a step timeout under 5 minutes', { timeout: Duration.minutes(2) }, /timeout must be from 5 to 55 minutes, got 2 minutes/],
      ['an acknowledgement without a reason', { acknowledgedActionItems: [{ actionItem: 9996, reason: 'ok' }] }, /acknowledgedActionItems\[0\] \(action item 9996\) needs a reason/],
      ['an acknowledgement of no action item number', { acknowledgedActionItems: [{ actionItem: 0, reason: 'not a real number here' }] }, /actionItem must be the action item's number/],
      ['no network', { network: undefined }, /network is required/],
      ['a report retention under a day', { reportRetention: Duration.hours(2) }, /reportRetention must be at least 1 day/],
    ])('%s', (_name, overrides, message) => {
      expect(() => conversion(overrides)).toThrow(message);
    });

    test('a source endpoint imported by ARN: its credentials are unknown', () => {
      const stack = new Stack(new App(), 'S');
      const network = new NatEgressForReplication(stack, 'Network');
      const source: IDmsEndpoint = MySqlSourceEndpoint.fromEndpointArn(stack, 'Source', 'arn:aws:dms:us-east-1:123456789012:endpoint:ELSEWHERE');
      const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
      expect(() => new DmsSchemaConversion(stack, 'C', { network, source, target, tableMappings: SHOP() }))
        .toThrow(/the source must be a MySqlSourceEndpoint, OracleSourceEndpoint or SqlServerSourceEndpoint created by this library/);
    });
  });

  test('valid CloudFormation, cdk-nag clean (environment-agnostic and in a concrete account and Region)', () => {
    expectValidCloudFormation(conversion().stack);
    expectNagClean((app, env) => conversion({}, app, env).stack, TEST_DATABASE_ACKS);
  });
});
