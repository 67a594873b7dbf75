import { App, SecretValue, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { DmsMigrationTask } from '../../lib/migration';
import { NeonTargetEndpoint } from '../../lib/neon';
import { NatEgressForReplication } from '../../lib/network/nat-egress';
import { SchemaCopyOptions } from '../../lib/schema';
import { PostgresSourceEndpoint } from '../../lib/sources/postgres';

const NEON_URI = 'postgresql://app@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require';

function migration(schemaCopy: SchemaCopyOptions) {
  const stack = new Stack(new App(), 'S');
  const network = new NatEgressForReplication(stack, 'Network');
  const secret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Secret', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:src-AbCdEf');
  const source = new PostgresSourceEndpoint(stack, 'Source', { secret, databaseName: 'app' });
  const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
  new DmsMigrationTask(stack, 'Migration', { source, target, network, schemaName: 'app', waitForCompletion: true, schemaCopy });
  return Template.fromStack(stack);
}

test('postDataJobs and maintenanceWorkMem reach the schema tool', () => {
  migration({ postDataJobs: 4, maintenanceWorkMem: Size.gibibytes(1) }).hasResourceProperties('AWS::CodeBuild::Project', {
    Environment: Match.objectLike({
      EnvironmentVariables: Match.arrayWith([
        { Name: 'POST_DATA_JOBS', Type: 'PLAINTEXT', Value: '4' },
        { Name: 'MAINTENANCE_WORK_MEM', Type: 'PLAINTEXT', Value: '1024MB' },
      ]),
    }),
  });
  const defaults = JSON.stringify(migration({}).findResources('AWS::CodeBuild::Project'));
  expect(defaults).not.toMatch(/POST_DATA_JOBS|MAINTENANCE_WORK_MEM/);
});

test('bad values are refused at synth, naming the property', () => {
  expect(() => migration({ postDataJobs: 0 })).toThrow(/postDataJobs is 0; use an integer from 1 to 16/);
  expect(() => migration({ postDataJobs: 2.5 })).toThrow(/postDataJobs is 2.5/);
  expect(() => migration({ maintenanceWorkMem: Size.kibibytes(10) })).toThrow(/maintenanceWorkMem must be a whole number of mebibytes/);
  expect(() => migration({ maintenanceWorkMem: Size.gibibytes(16) })).toThrow(/maintenanceWorkMem/);
});
