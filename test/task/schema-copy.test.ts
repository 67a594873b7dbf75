import { App, CfnElement, Duration, Environment, SecretValue, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { MigrationVerification } from '../../lib/checks';
import { DmsMigrationTask, DmsMigrationTaskProps } from '../../lib/migration';
import { NeonTargetEndpoint } from '../../lib/neon';
import { NatEgressForReplication } from '../../lib/network/nat-egress';
import { ReplicationCompute } from '../../lib/replication';
import { DEFAULT_SCHEMA_TOOLS_IMAGE, PostgresSchemaCopy } from '../../lib/schema';
import { PostgresSourceEndpoint } from '../../lib/sources/postgres';
import { ColumnType, MigrationType, TableMappings, TableType, TargetTablePrepMode, TaskSettings } from '../../lib/task';
import { DeployedTemplate, TemplateJson } from '../helpers/deployed';
import { expectSecretAbsent, testApp } from '../helpers/leak';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

const NEON_URI = 'postgresql://app@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require';
const CANARY = 'Pw-schema-canary-5d1f0a';

function migration(overrides: Partial<DmsMigrationTaskProps> = {}, app = new App(), env?: Environment) {
  const stack = new Stack(app, 'S', { env });
  const network = new NatEgressForReplication(stack, 'Network');
  const database = new rds.DatabaseInstance(stack, 'Database', {
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
    vpc: network.vpc,
    vpcSubnets: network.replicationSubnets,
    storageEncrypted: true,
    deletionProtection: true,
    multiAz: true,
    iamAuthentication: true,
    enablePerformanceInsights: true,
    cloudwatchLogsExports: ['postgresql', 'upgrade'],
  });
  const source = PostgresSourceEndpoint.fromRdsInstance(stack, 'Source', { instance: database, databaseName: 'app' });
  const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
  const task = new DmsMigrationTask(stack, 'Migration', {
    source, target, network, schemaName: 'app', waitForCompletion: true, schemaCopy: {}, ...overrides,
  });
  return { stack, task, network, database, source, target, template: () => Template.fromStack(stack) };
}

function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as any);
}

describe('schemaCopy', () => {
  test('a CodeBuild project in the replication subnets, with the pinned postgres image, its connection details from Secrets Manager', () => {
    const { stack, task, network, template } = migration();
    const t = template();
    const schema = task.schemaCopy!;
    t.hasResourceProperties('AWS::CodeBuild::Project', {
      Environment: Match.objectLike({
        Image: DEFAULT_SCHEMA_TOOLS_IMAGE,
        ComputeType: 'BUILD_GENERAL1_SMALL',
        ImagePullCredentialsType: 'SERVICE_ROLE',
        EnvironmentVariables: Match.arrayWith([
          { Name: 'SOURCE_PGPASSWORD', Type: 'SECRETS_MANAGER', Value: { 'Fn::Join': ['', [{ Ref: Match.stringLikeRegexp('^DatabaseSecretAttachment') }, ':password']] } },
          { Name: 'SOURCE_PGDATABASE', Type: 'PLAINTEXT', Value: 'app' },
          // libpq 14+ sends SNI: the plain password of the clients' secret, not the DMS endpoint's endpoint=<id>$<password>
          { Name: 'TARGET_PGPASSWORD', Type: 'SECRETS_MANAGER', Value: { 'Fn::Join': ['', [{ Ref: Match.stringLikeRegexp('^NeonClientCredentials') }, ':password']] } },
          { Name: 'TARGET_PGSSLMODE', Type: 'PLAINTEXT', Value: 'require' },
        ]),
      }),
      VpcConfig: Match.objectLike({
        SecurityGroupIds: Match.arrayWith([{ 'Fn::GetAtt': [logicalId(stack, network.securityGroup as ec2.SecurityGroup), 'GroupId'] }]),
      }),
      TimeoutInMinutes: 120,
      // CodeBuild's queue holds a build 8 hours by default: bounded within the deployment's wait
      QueuedTimeoutInMinutes: 10,
      EncryptionKey: Match.anyValue(),
    });
    expect(schema.project).toBeDefined();
    // no password value, only references, anywhere in the project
    expect(JSON.stringify(t.findResources('AWS::CodeBuild::Project'))).not.toMatch(/PGPASSWORD","Type":"PLAINTEXT/);
  });

  test('ordered around the task: the pre-data step before the task starts, post-data and sequences after the full load', () => {
    const { stack, task, template } = migration();
    const resources = template().toJSON().Resources;
    const before = logicalId(stack, task.schemaCopy!.before);
    const after = logicalId(stack, task.schemaCopy!.after!);
    const lifecycle = logicalId(stack, task.lifecycle.resource);
    expect(resources[before].Properties).toEqual(expect.objectContaining({ Steps: 'pre', TableMappings: task.tableMappings.toJson() }));
    expect(resources[after].Properties).toEqual(expect.objectContaining({ Steps: 'post sequences' }));
    expect(resources[after].Properties.ResumeTaskArn).toBeUndefined();
    // the step waits for the rest of the load itself (the lifecycle stops waiting at maxWait), through its wait condition
    expect(resources[after].Properties.LoadArn).toEqual({ Ref: logicalId(stack, task) });
    expect(resources[after].Properties.LoadWaitHandle).toEqual({ Ref: expect.stringMatching(/^MigrationSchemaAfterCompletionHandle/) });
    expect(resources[before].Properties.LoadArn).toBeUndefined();
    expect(resources[before].Properties.LoadWaitHandle).toBeUndefined();
    expect(resources[lifecycle].DependsOn).toContain(before);
    expect(resources[after].DependsOn).toEqual(expect.arrayContaining([lifecycle, before]));
    const condition = Object.keys(template().findResources('AWS::CloudFormation::WaitCondition')).find(id => id.startsWith('MigrationSchemaAfterCompletion'))!;
    expect(resources[condition].DependsOn).toContain(after);
    expect(resources[condition].Properties.Timeout).toBe('43200');
    // the source database admits the tools (they run in the replication security group) before the pre-data step
    const ingress = Object.keys(template().findResources('AWS::EC2::SecurityGroupIngress', {
      Properties: { GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseSecurityGroup'), 'GroupId'] } },
    }));
    expect(ingress).toHaveLength(1);
    expect(resources[before].DependsOn).toEqual(expect.arrayContaining(ingress));
  });

  test('full load and CDC: the task stops after the full load; the indexes step resumes it; foreign keys, triggers and sequences wait for the cut-over', () => {
    const { stack, task, template } = migration({ migrationType: MigrationType.FULL_LOAD_AND_CDC });
    const resources = template().toJSON().Resources;
    expect(JSON.parse(task.settings.toJson()).FullLoadSettings.StopTaskCachedChangesNotApplied).toBe(true);
    const after = resources[logicalId(stack, task.schemaCopy!.after!)];
    expect(after.Properties).toEqual(expect.objectContaining({ Steps: 'indexes', ResumeTaskArn: { Ref: logicalId(stack, task) } }));
    expect(resources[logicalId(stack, task.schemaCopy!.before)].Properties.ResumeTaskArn).toBeUndefined();
    expect(task.schemaCopy!.cutover).toBeUndefined();
    expect(Object.values<any>(template().findResources('Custom::NeonSchemaCopy')).map(r => r.Properties.Steps).sort()).toEqual(['indexes', 'pre']);
  });

  test('the cut-over of a full load and CDC: constraints and sequences, after the indexes, never resuming the task', () => {
    const { stack, task, template } = migration({ migrationType: MigrationType.FULL_LOAD_AND_CDC, schemaCopy: { cutover: true } });
    const resources = template().toJSON().Resources;
    const cutover = resources[logicalId(stack, task.schemaCopy!.cutover!)];
    expect(cutover.Properties.Steps).toBe('constraints sequences');
    expect(cutover.Properties.ResumeTaskArn).toBeUndefined();
    // after the indexes step's wait condition: once the indexes exist and the task was resumed
    expect(cutover.DependsOn).toContain(stack.resolve((task.schemaCopy!.waitConditions.After as CfnElement).logicalId));
  });

  test('the shared provider may start and read builds of this project and read its log streams only', () => {
    const { stack, task, template } = migration();
    const policies = template().findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('^MigrationSchemaStartBuilds') } });
    const statements = Object.values<any>(policies)[0].Properties.PolicyDocument.Statement;
    expect(statements).toEqual([
      {
        Action: ['codebuild:StartBuild', 'codebuild:BatchGetBuilds', 'codebuild:ListBuildsForProject', 'codebuild:StopBuild'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [logicalId(stack, task.schemaCopy!.project), 'Arn'] },
      },
      { Action: 'logs:GetLogEvents', Effect: 'Allow' },
    ].map(s => expect.objectContaining(s)));
    // the streams of the build's log group, in the colon form: `Fn::GetAtt Arn` ends in `:*` and would name none
    const deployed = new DeployedTemplate(template().toJSON() as TemplateJson);
    const groupName = deployed.property(logicalId(stack, task.schemaCopy!.logGroup), 'LogGroupName');
    expect(deployed.evaluate(statements[1].Resource)).toBe(`arn:aws:logs:us-east-1:123456789012:log-group:${groupName}:log-stream:*`);
  });

  test.each<[string, Partial<DmsMigrationTaskProps>, RegExp]>([
    ['no waitForCompletion', { waitForCompletion: false }, /set waitForCompletion: true/],
    ['CDC only', { migrationType: MigrationType.CDC }, /schemaCopy applies to full-load migrations/],
    ['a renaming mapping', { schemaName: undefined, tableMappings: TableMappings.includeSchema('app').renameSchema('app', 'sales') },
      /the table mappings hold the transformation rule .* \(rename on schema\): the schema copy restores the source's objects under their own names/],
    ['cutover with a full load only', { schemaCopy: { cutover: true } }, /cutover applies to a migration with changeDataCapture \(FULL_LOAD_AND_CDC\)/],
    ['views selected as tables', { schemaName: undefined, tableMappings: new TableMappings().include('app', '%', TableType.ALL, { ruleName: 'views' }) },
      /the selection rule 'views' selects table-type 'all': DMS would load views into tables of their name/],
    ['a column added by DMS', { schemaName: undefined, tableMappings: TableMappings.includeSchema('app').addColumn('app', '%', 'audit', '1', { type: ColumnType.INT4 }, { ruleName: 'audit' }) },
      /transformation rule 'audit' \(add-column on column\)/],
    ['DMS Serverless with full load and CDC', { migrationType: MigrationType.FULL_LOAD_AND_CDC, compute: ReplicationCompute.serverless({ maxCapacityUnits: 4 }) },
      /with FULL_LOAD_AND_CDC needs the task to stop after the full load and resume/],
  ])('refused at synth: %s', (_name, overrides, message) => {
    expect(() => migration(overrides)).toThrow(message);
  });

  test('DROP_AND_CREATE with a schema copy is refused at synth: DMS would drop the tables the copy created', () => {
    expect(() => migration({ settings: new TaskSettings({ targetTablePrepMode: TargetTablePrepMode.DROP_AND_CREATE }) }))
      .toThrow(/schemaCopy creates the target tables before the load, and TargetTablePrepMode.DROP_AND_CREATE would drop them .*: use DO_NOTHING or TRUNCATE_BEFORE_LOAD/);
    for (const mode of [TargetTablePrepMode.DO_NOTHING, TargetTablePrepMode.TRUNCATE_BEFORE_LOAD]) {
      expect(() => migration({ settings: new TaskSettings({ targetTablePrepMode: mode }) })).not.toThrow();
    }
  });

  test('a step configured for more than an hour is accepted and waited for up to 12 hours; beyond, the synth error offers not to wait', () => {
    const { stack, task, template } = migration({ schemaCopy: { timeout: Duration.hours(6) } });
    const resources = template().toJSON().Resources;
    template().hasResourceProperties('AWS::CodeBuild::Project', { TimeoutInMinutes: 360, QueuedTimeoutInMinutes: 10 });
    // the pre-data step waits in its custom resource: its build within the hour (45 minutes, 10 more in the queue)
    expect(resources[logicalId(stack, task.schemaCopy!.before)].Properties).toEqual(expect.objectContaining({ TimeoutMinutes: '45', QueueMinutes: '10' }));
    // the step after the load: 6 hours of build, the rest of CloudFormation's 12 hours less margin, queue and resume for the load
    expect(resources[logicalId(stack, task.schemaCopy!.after!)].Properties).toEqual(expect.objectContaining({
      TimeoutMinutes: '360', QueueMinutes: '10', MaxWaitSeconds: String(11 * 3600 + 45 * 60), LoadWaitSeconds: String(5 * 3600 + 25 * 60),
    }));
    expect(() => migration({ schemaCopy: { timeout: Duration.hours(12) } })).toThrow(new RegExp('PostgresSchemaCopy: timeout is 12 hours, longer than the deployment can wait '
      + 'for a step after the load: CloudFormation waits at most 12 hours .* Shorten timeout to Duration.hours\\(11\\) or less, or set deployAfterLoadSteps: false'));
    expect(() => migration({ schemaCopy: { timeout: Duration.minutes(4) } })).toThrow(/timeout is 4 minutes; CodeBuild takes a build timeout from 5 minutes/);
    expect(() => migration({ schemaCopy: { timeout: Duration.hours(37), deployAfterLoadSteps: false } })).toThrow(/at most 36 hours/);
    expect(() => migration({ schemaCopy: { timeout: Duration.hours(11) } })).not.toThrow();
  });

  test('deployAfterLoadSteps false: the pre-data step only, the build timeout up to CodeBuild\'s 36 hours; a verification of a task it leaves stopped is refused', () => {
    const { stack, task, template } = migration({ schemaCopy: { timeout: Duration.hours(20), deployAfterLoadSteps: false } });
    template().hasResourceProperties('AWS::CodeBuild::Project', { TimeoutInMinutes: 1200 });
    expect(task.schemaCopy!.after).toBeUndefined();
    expect(task.schemaCopy!.afterLoadCompletion).toBe(task.schemaCopy!.before);
    expect(Object.values<any>(template().findResources('Custom::NeonSchemaCopy')).map(r => r.Properties.Steps)).toEqual(['pre']);
    template().resourceCountIs('AWS::CloudFormation::WaitCondition', 0);
    expect(stack.node.tryFindChild('NeonDmsLoadWaiter')).toBeUndefined();
    expect(() => migration({ migrationType: MigrationType.FULL_LOAD_AND_CDC, schemaCopy: { deployAfterLoadSteps: false, cutover: true } }))
      .toThrow(/cutover runs a step after the load in the deployment, and deployAfterLoadSteps is false/);
    const cdc = migration({ migrationType: MigrationType.FULL_LOAD_AND_CDC, schemaCopy: { deployAfterLoadSteps: false } });
    expect(() => MigrationVerification.forTask(cdc.stack, 'Verification', { task: cdc.task }))
      .toThrow(/stops after its full load and waits for the schema copy's indexes step, which schemaCopy.deployAfterLoadSteps: false leaves to you/);
  });

  test.each([MigrationType.FULL_LOAD, MigrationType.FULL_LOAD_AND_CDC])('%s: a verification for the task runs after the steps after the load (with CDC: after the task was resumed)', (migrationType) => {
    const { stack, task, template } = migration({ migrationType, schemaCopy: { cutover: migrationType === MigrationType.FULL_LOAD_AND_CDC } });
    const verification = MigrationVerification.forTask(stack, 'Verification', { task });
    const dependsOn = template().toJSON().Resources[stack.getLogicalId(verification.resource.node.defaultChild as any)].DependsOn;
    for (const condition of Object.values(task.schemaCopy!.waitConditions)) {
      expect(dependsOn).toContain(stack.resolve((condition as CfnElement).logicalId));
    }
    expect(Object.keys(task.schemaCopy!.waitConditions)).toEqual(migrationType === MigrationType.FULL_LOAD ? ['After'] : ['After', 'Cutover']);
  });

  test('remove-column is left to the tool, which allows it for stored generated columns (checked on the source catalog)', () => {
    const mappings = TableMappings.includeSchema('app').removeColumn('app', 'orders', 'total');
    const { stack, task, template } = migration({ schemaName: undefined, tableMappings: mappings });
    expect(template().toJSON().Resources[logicalId(stack, task.schemaCopy!.before)].Properties.TableMappings).toContain('remove-column');
  });

  test('every TARGET_ variable comes from the clients\' secret; the build may read that one and not the DMS endpoint\'s', () => {
    const { stack, target, template } = migration();
    const t = template();
    const client = logicalId(stack, target.clientCredentialsSecret as any);
    const dms = logicalId(stack, target.credentialsSecret as any);
    const project = Object.values<any>(t.findResources('AWS::CodeBuild::Project'))[0];
    const fromSecrets = project.Properties.Environment.EnvironmentVariables.filter((v: any) => v.Name.startsWith('TARGET_') && v.Type === 'SECRETS_MANAGER');
    expect(fromSecrets.map((v: any) => v.Name).sort()).toEqual(['TARGET_PGDATABASE', 'TARGET_PGHOST', 'TARGET_PGPASSWORD', 'TARGET_PGPORT', 'TARGET_PGUSER']);
    for (const v of fromSecrets) expect(v.Value['Fn::Join'][1][0]).toEqual({ Ref: client });
    const buildRole = project.Properties.ServiceRole['Fn::GetAtt'][0];
    const read = JSON.stringify(Object.values<any>(t.findResources('AWS::IAM::Policy')).filter(p => JSON.stringify(p.Properties.Roles).includes(buildRole)));
    expect(read).toContain(`"Ref":"${client}"`);
    expect(read).not.toContain(`"Ref":"${dms}"`);
  });

  test('PostgresSchemaCopy refuses the DMS endpoint\'s secret: psql and pg_dump send SNI', () => {
    const { stack, network, target } = migration();
    expect(() => new PostgresSchemaCopy(stack, 'Copy', {
      network, sourceSecret: target.clientCredentialsSecret, sourceDatabaseName: 'app', targetSecret: target.credentialsSecret, tableMappings: TableMappings.includeSchema('app'),
    })).toThrow('PostgresSchemaCopy: targetSecret is a Neon DMS endpoint\'s credentials secret (NeonTargetEndpoint.credentialsSecret), whose password '
      + 'is written endpoint=<endpoint_id>$<password> for DMS, which sends no TLS SNI. The schema tools (psql, pg_dump: libpq 14 and later) send SNI, '
      + 'and Neon then takes the whole string for the password (password authentication failed): pass the endpoint\'s clientCredentialsSecret instead.');
  });

  test('a source that is not a PostgresSourceEndpoint is refused', () => {
    const stack = new Stack(new App(), 'S');
    const network = new NatEgressForReplication(stack, 'Network');
    const source = PostgresSourceEndpoint.fromEndpointArn(stack, 'Source', 'arn:aws:dms:us-east-1:123456789012:endpoint:ELSEWHERE');
    const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
    expect(() => new DmsMigrationTask(stack, 'Migration', { source, target, network, schemaName: 'app', waitForCompletion: true, schemaCopy: {} }))
      .toThrow(/the source must be a PostgresSourceEndpoint created by this library/);
  });

  test('on DMS Serverless (full load): the same two steps around the replication', () => {
    const { stack, task, template } = migration({ compute: ReplicationCompute.serverless({ maxCapacityUnits: 4 }) });
    const resources = template().toJSON().Resources;
    expect(resources[logicalId(stack, task.lifecycle.resource)].DependsOn).toContain(logicalId(stack, task.schemaCopy!.before));
    expect(resources[logicalId(stack, task.schemaCopy!.after!)].Properties.LoadArn).toEqual(stack.resolve(task.replicationConfigArn));
    expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
  });

  test('valid CloudFormation, no secret in the cloud assembly, cdk-nag clean', () => {
    expectValidCloudFormation(migration().stack);
    const app = testApp();
    migration({}, app);
    expectSecretAbsent(app, CANARY);
    expectNagClean((a, env) => migration({}, a, env).stack, [
      ...['AwsSolutions-RDS10', 'AwsSolutions-RDS11', 'AwsSolutions-SMG4', 'NIST.800.53.R5-RDSInBackupPlan', 'NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled',
        'NIST.800.53.R5-SecretsManagerRotationEnabled', 'NIST.800.53.R5-SecretsManagerUsingKMSKey', 'NIST.800.53.R5-RDSEnhancedMonitoringEnabled',
        'NIST.800.53.R5-RDSStorageEncrypted']
        .map(id => ({ id, reason: 'The test database only stands in for a source.', pathPattern: '^S/Database' })),
      { id: 'NIST.800.53.R5-EC2RestrictedCommonPorts', reason: 'The ingress rule admits only the replication security group, on the database port.', pathPattern: '^S/Database/SecurityGroup/from ' },
      { id: 'NIST.800.53.R5-EC2RestrictedSSH', reason: 'The ingress rule admits only the replication security group, on the database port.', pathPattern: '^S/Database/SecurityGroup/from ' },
    ]);
  });
});
