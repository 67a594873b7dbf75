import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { NeonMigrationExampleStack, PLACEHOLDER_NEON_SECRET, exampleSettingsFromContext } from '../../lib/example/example-stack';
import { SAMPLE_TABLES, sampleSchemaSql } from '../../lib/example/sample-schema';
import { expectSecretAbsent, testApp } from '../helpers/leak';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

function synthExample(context: Record<string, string> = {}): { app: App; stack: NeonMigrationExampleStack; template: Template } {
  const app = new App({ context });
  const stack = new NeonMigrationExampleStack(app, 'Example');
  return { app, stack, template: Template.fromStack(stack) };
}

describe('the bundled example', () => {
  test('synthesizes without an AWS account, from placeholders', () => {
    const { stack, template } = synthExample();
    expect(stack.resolve(stack.account)).toEqual({ Ref: 'AWS::AccountId' });
    // the Neon connection string is read from the placeholder secret at deploy time
    // imported by name: its complete ARN is looked up at deploy time and handed to the credentials handler
    const resolver = template.findResources('Custom::NeonDmsSecretArns');
    const [[resolverId, { Properties: { Secrets: secrets } }]] = Object.entries<any>(resolver);
    const [[attribute, lookup]] = Object.entries<any>(secrets);
    expect(lookup).toEqual({ SecretId: PLACEHOLDER_NEON_SECRET, Property: 'connectionStringSecret' });
    template.hasResourceProperties('Custom::NeonDmsCredentials', { SourceSecretArn: { 'Fn::GetAtt': [resolverId, attribute] } });
  });

  test('the guide\'s scenario: RDS PostgreSQL 15 with TLS and logical replication, full load of dms_sample.%', () => {
    const { template } = synthExample();
    template.hasResourceProperties('AWS::RDS::DBParameterGroup', {
      Family: 'postgres15',
      Parameters: { 'rds.force_ssl': '1', 'rds.logical_replication': '1' },
    });
    template.hasResourceProperties('AWS::RDS::DBInstance', { PubliclyAccessible: false, StorageEncrypted: true });
    const task = Object.values(template.findResources('AWS::DMS::ReplicationTask'))[0];
    expect(task.Properties.MigrationType).toBe('full-load');
    const mappings = JSON.parse(task.Properties.TableMappings);
    expect(mappings.rules).toEqual([expect.objectContaining({
      'rule-type': 'selection',
      'rule-action': 'include',
      'object-locator': { 'schema-name': 'dms_sample', 'table-name': '%' },
    })]);
    const settings = JSON.parse(task.Properties.ReplicationTaskSettings);
    expect(settings.ValidationSettings.EnableValidation).toBe(true);
    expect(settings.Logging.EnableLogging).toBe(true);
    expect(settings.Logging.LogComponents).toContainEqual({ Id: 'TARGET_LOAD', Severity: 'LOGGER_SEVERITY_DEBUG' });
    template.hasResourceProperties('AWS::DMS::ReplicationInstance', { PubliclyAccessible: false });
    template.hasResourceProperties('Custom::DmsTaskLifecycle', { StartOnDeploy: 'true' });
  });

  test('the task starts only after the sample data is loaded', () => {
    const { template } = synthExample();
    const lifecycle = Object.values(template.findResources('Custom::DmsTaskLifecycle'))[0];
    const loaderId = Object.keys(template.findResources('Custom::SampleData'))[0];
    expect(lifecycle.DependsOn).toContain(loaderId);
  });

  test('the schema of dms_sample is copied before the task starts, and its indexes, foreign keys and sequences after the full load', () => {
    const { template } = synthExample();
    const resources = template.toJSON().Resources;
    const steps = Object.entries<any>(template.findResources('Custom::NeonSchemaCopy'));
    const [[before, pre]] = steps.filter(([, r]) => r.Properties.Steps === 'pre');
    const [[after, post]] = steps.filter(([, r]) => r.Properties.Steps === 'post sequences');
    const [[lifecycleId, lifecycle]] = Object.entries<any>(template.findResources('Custom::DmsTaskLifecycle'));
    const loaderId = Object.keys(template.findResources('Custom::SampleData'))[0];
    // pre-data reads the source once the sample data created it, and the task starts after it
    expect(pre.DependsOn).toContain(loaderId);
    expect(lifecycle.DependsOn).toContain(before);
    // the lifecycle answers once the full load completed (waitForCompletion): post-data follows it
    expect(lifecycle.Properties.WaitForCompletion).toBe('true');
    expect(post.DependsOn).toContain(lifecycleId);
    // both select what the task selects
    const task = Object.values<any>(template.findResources('AWS::DMS::ReplicationTask'))[0];
    expect(JSON.parse(pre.Properties.TableMappings)).toEqual(JSON.parse(task.Properties.TableMappings));
    expect(JSON.parse(post.Properties.TableMappings)).toEqual(JSON.parse(task.Properties.TableMappings));
    // DMS loads into the tables the schema copy created
    expect(JSON.parse(task.Properties.ReplicationTaskSettings).FullLoadSettings.TargetTablePrepMode).not.toBe('DROP_AND_CREATE');
    expect(resources[after]).toBeDefined();
  });

  test('outputs the Neon IP to allow, the task ARN, its log group and a console link', () => {
    const { template } = synthExample();
    const outputs = Object.keys(template.toJSON().Outputs);
    expect(outputs).toEqual(expect.arrayContaining(['MigrationTaskArn', 'MigrationSourceSecretArn', 'MigrationTargetSecretArn', 'NeonMigrationRegion',
      'TaskLogGroup', 'TaskConsoleUrl', 'DashboardUrl']));
    // each once: the example adds none of the task's own
    expect(outputs.filter((o) => /TaskArn|SourceSecretArn/.test(o))).toEqual(['MigrationTaskArn', 'MigrationSourceSecretArn']);
    expect(outputs.some((o) => /NeonAllowIp1/.test(o))).toBe(true);
  });

  test('watches the migration: alarms to an encrypted topic, a dashboard, e-mail when asked', () => {
    const { template } = synthExample({ notificationEmail: 'dba@example.com' });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'CDCLatencyTarget' });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'dba@example.com' });
    template.hasResourceProperties('AWS::Events::Rule', { EventPattern: Match.objectLike({ source: ['aws.dms'] }) });
  });

  test('context parameters change the instance class and the data size', () => {
    const { template } = synthExample({ replicationInstanceClass: 'dms.r6i.large', tickets: '5000', neonSecret: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:neon/url' });
    template.hasResourceProperties('AWS::DMS::ReplicationInstance', { ReplicationInstanceClass: 'dms.r6i.large' });
    template.hasResourceProperties('Custom::SampleData', { Tickets: '5000' });
  });

  test('bad context values fail with the name of the setting', () => {
    const app = new App({ context: { tickets: 'many' } });
    expect(() => exampleSettingsFromContext(app)).toThrow('context tickets must be a positive whole number, got "many"');
  });

  test('is schema-valid and cdk-nag clean', () => {
    const { stack } = synthExample();
    expectValidCloudFormation(stack);
    expectNagClean((app, env) => new NeonMigrationExampleStack(app, 'Example', { env }));
  });

  test('carries no credential from the environment into the cloud assembly', () => {
    const canary = 'Pw-example-canary-5c1e0d';
    const saved = process.env.PGPASSWORD;
    process.env.PGPASSWORD = canary;
    try {
      const app = testApp();
      new NeonMigrationExampleStack(app, 'Example');
      expectSecretAbsent(app, canary);
    } finally {
      if (saved === undefined) {
        delete process.env.PGPASSWORD;
      } else {
        process.env.PGPASSWORD = saved;
      }
    }
  });
});

describe('sample schema', () => {
  test('creates every table it lists, in dependency order', () => {
    const sql = sampleSchemaSql().join('\n');
    for (const table of SAMPLE_TABLES) {
      expect(sql).toContain(`CREATE TABLE dms_sample.${table} (`);
    }
    expect(sql.indexOf('CREATE TABLE dms_sample.person')).toBeLessThan(sql.indexOf('REFERENCES dms_sample.person'));
  });

  test('rejects a schema name that is not a plain identifier', () => {
    expect(() => sampleSchemaSql({ schemaName: 'x; drop', people: 1, events: 1, tickets: 1 }))
      .toThrow('schemaName must be a lowercase PostgreSQL identifier (letters, digits, _), got "x; drop"');
    expect(() => sampleSchemaSql({ schemaName: 's', people: 0, events: 1, tickets: 1 })).toThrow('people must be a whole number from 1 to 100000000, got 0');
  });
});
