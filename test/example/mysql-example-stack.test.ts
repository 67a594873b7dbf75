import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PLACEHOLDER_NEON_SECRET } from '../../lib/example/example-stack';
import { MYSQL_SAMPLE_SQL, MYSQL_SAMPLE_TABLES, MySqlMigrationExampleStack } from '../../lib/example/mysql-example-stack';
import { expectSecretAbsent, testApp } from '../helpers/leak';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

function synth(context: Record<string, string> = {}): { stack: MySqlMigrationExampleStack; template: Template } {
  const app = new App({ context });
  const stack = new MySqlMigrationExampleStack(app, 'MySqlExample');
  return { stack, template: Template.fromStack(stack) };
}

describe('the MySQL example', () => {
  test('synthesizes without an AWS account: RDS for MySQL with TLS enforced, private, encrypted; Neon from the placeholder secret', () => {
    const { stack, template } = synth();
    expect(stack.resolve(stack.account)).toEqual({ Ref: 'AWS::AccountId' });
    template.hasResourceProperties('AWS::RDS::DBParameterGroup', { Family: 'mysql8.0', Parameters: { require_secure_transport: 'ON', binlog_format: 'ROW' } });
    template.hasResourceProperties('AWS::RDS::DBInstance', { Engine: 'mysql', PubliclyAccessible: false, StorageEncrypted: true });
    const lookups = Object.values<any>(template.findResources('Custom::NeonDmsSecretArns'))[0].Properties.Secrets;
    expect(Object.values(lookups)).toContainEqual({ SecretId: PLACEHOLDER_NEON_SECRET, Property: 'connectionStringSecret' });
  });

  test('the shop schema is converted by DMS Schema Conversion into Neon, then loaded by a full-load task into the converted tables', () => {
    const { stack, template } = synth();
    template.hasResourceProperties('AWS::DMS::DataProvider', { Engine: 'mysql' });
    template.hasResourceProperties('AWS::DMS::DataProvider', { Engine: 'postgres' });
    template.resourceCountIs('AWS::DMS::MigrationProject', 1);
    const resources = template.toJSON().Resources;
    const id = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as any);
    const convertStep = resources[id(stack.conversion.convert)];
    const applyStep = resources[id(stack.conversion.apply)];
    const lifecycle = resources[id(stack.migration.lifecycle.resource)];
    const sampleData = id(stack.sampleData);
    // the conversion reads the source once the sample data is in it; the task starts once the schema is in Neon
    expect(convertStep.DependsOn).toContain(sampleData);
    expect(lifecycle.DependsOn).toContain(id(stack.conversion.apply));
    expect(convertStep.Properties.FailOn).toBe('HIGH');
    expect(applyStep.Properties.Conversion).toEqual({ Ref: id(stack.conversion.convert) });
    // the task selects what was converted, in lower case as the conversion names it, and keeps the converted tables
    const task = Object.values<any>(template.findResources('AWS::DMS::ReplicationTask'))[0];
    const rules = JSON.parse(task.Properties.TableMappings).rules;
    expect(rules[0]).toEqual(expect.objectContaining({ 'rule-action': 'include', 'object-locator': { 'schema-name': 'shop', 'table-name': '%' } }));
    expect(rules.filter((r: any) => r['rule-action'] === 'convert-lowercase').map((r: any) => r['rule-target'])).toEqual(['table', 'column']);
    expect(JSON.parse(task.Properties.ReplicationTaskSettings).FullLoadSettings.TargetTablePrepMode).toBe('DO_NOTHING');
    expect(task.Properties.MigrationType).toBe('full-load');
  });

  test('the sample data: the shop schema\'s tables, loaded over TLS by the mysql client in the replication subnets', () => {
    const { template } = synth();
    expect([...MYSQL_SAMPLE_SQL.matchAll(/CREATE TABLE IF NOT EXISTS (\w+) \(/g)].map(m => m[1])).toEqual(MYSQL_SAMPLE_TABLES);
    const project = Object.values<any>(template.findResources('AWS::CodeBuild::Project'))[0];
    expect(project.Properties.Environment.Image).toBe('public.ecr.aws/docker/library/mysql:8.0');
    expect(project.Properties.Environment.EnvironmentVariables.map((v: any) => [v.Name, v.Type])).toEqual([
      ['MYSQL_HOST', 'SECRETS_MANAGER'], ['MYSQL_USER', 'SECRETS_MANAGER'], ['MYSQL_PWD', 'SECRETS_MANAGER'],
    ]);
    const buildspec = project.Properties.Source.BuildSpec as string;
    expect(buildspec).toContain('mysql --ssl-mode=REQUIRED');
    // the SQL travels base64-encoded in the buildspec, unchanged
    const encoded = /echo ([A-Za-z0-9+/=]+) \| base64 -d/.exec(buildspec)![1];
    expect(Buffer.from(encoded, 'base64').toString('utf8')).toBe(MYSQL_SAMPLE_SQL);
    expect(project.Properties.VpcConfig).toBeDefined();
  });

  test('outputs the task, the bucket of the assessment reports, the source secret', () => {
    const outputs = Object.keys(synth().template.toJSON().Outputs);
    expect(outputs).toEqual(expect.arrayContaining(['MigrationTaskArn', 'SchemaConversionBucket', 'MigrationSourceSecretArn', 'MigrationTargetSecretArn']));
    expect(outputs.filter((o) => /TaskArn|SourceSecretArn/.test(o))).toEqual(['MigrationTaskArn', 'MigrationSourceSecretArn']);
  });

  test('is schema-valid and cdk-nag clean (environment-agnostic and in a concrete account and Region)', () => {
    expectValidCloudFormation(synth().stack);
    expectNagClean((app, env) => new MySqlMigrationExampleStack(app, 'MySqlExample', { env }));
  });

  test('carries no credential from the environment into the cloud assembly', () => {
    const canary = 'Pw-mysql-example-canary-7a2b9c';
    const saved = process.env.MYSQL_PWD;
    process.env.MYSQL_PWD = canary;
    try {
      const app = testApp();
      new MySqlMigrationExampleStack(app, 'MySqlExample');
      expectSecretAbsent(app, canary);
    } finally {
      if (saved === undefined) delete process.env.MYSQL_PWD;
      else process.env.MYSQL_PWD = saved;
    }
    // the source's password reaches the build and DMS through Secrets Manager only
    const template = JSON.stringify(synth().template.toJSON());
    expect(template).not.toMatch(/"MasterUserPassword":"[^{]/);
  });
});
