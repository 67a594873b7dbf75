import { App, SecretValue, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { MigrationPreflight } from '../../lib/checks/migration-preflight';
import { MigrationVerification } from '../../lib/checks/migration-verification';
import { capacityOptions } from '../../lib/fidelity/fidelity.lambda';
import { DmsMigrationTask } from '../../lib/migration';
import { NeonTargetEndpoint } from '../../lib/neon/target-endpoint';
import { NatEgressForReplication } from '../../lib/network/nat-egress';
import { PostgresSourceEndpoint } from '../../lib/sources/postgres';
import { MigrationType } from '../../lib/task';

const NEON_URI = 'postgresql://app@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require';

test('forTask fills the capacity check from the task: its subtasks, validation threads and the Neon compute\'s storage attributes', () => {
  const stack = new Stack(new App(), 'S');
  const network = new NatEgressForReplication(stack, 'Network');
  const source = PostgresSourceEndpoint.fromEndpointArn(stack, 'Source', 'arn:aws:dms:us-east-1:123456789012:endpoint:SOURCE1');
  const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
  const migration = new DmsMigrationTask(stack, 'Migration', {
    source,
    target,
    network,
    schemaName: 'app',
    migrationType: MigrationType.FULL_LOAD_AND_CDC,
    neonCompute: { projectId: 'crimson-sun-12345678', apiKeySecret: secretsmanager.Secret.fromSecretNameV2(stack, 'ApiKey', 'neon/api-key') },
  });
  const preflight = MigrationPreflight.forTask(stack, 'Preflight', {
    task: migration,
    network,
    sourceSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Src', 'source/db'),
    sourceDatabaseName: 'app',
    targetSecret: target.clientCredentialsSecret,
    targetCapacity: { verificationSessions: 4 },
  });
  const keepAlive = stack.getLogicalId(migration.neonCompute!.resource.node.defaultChild as any);
  const props = Template.fromStack(stack).toJSON().Resources[stack.getLogicalId(preflight.resource.node.defaultChild as any)].Properties;
  expect(props.TargetCapacity).toEqual({
    MaxFullLoadSubTasks: 8,
    ValidationThreads: 5,
    VerificationSessions: 4,
    NeonBranchId: { 'Fn::GetAtt': [keepAlive, 'BranchId'] },
    NeonBranchSizeBytes: { 'Fn::GetAtt': [keepAlive, 'BranchLogicalSizeBytes'] },
    NeonBranchLimitBytes: { 'Fn::GetAtt': [keepAlive, 'BranchLogicalSizeLimitBytes'] },
    NeonBranchLimitSource: { 'Fn::GetAtt': [keepAlive, 'BranchLogicalSizeLimitSource'] },
  });
  expect(() => new MigrationPreflight(stack, 'NoTarget', {
    network,
    sourceSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Src2', 'source/db'),
    sourceDatabaseName: 'app',
    tableMappings: migration.tableMappings,
    targetCapacity: {},
  })).toThrow(/targetCapacity reads the free connection slots on the target: set targetSecret/);
});

test('the handler turns the resource\'s strings into the preflight\'s options, the storage as the keep-alive read it', () => {
  expect(capacityOptions({ MaxFullLoadSubTasks: '8', ValidationThreads: '5', NeonBranchId: 'br-1', NeonBranchSizeBytes: '2048', NeonBranchLimitBytes: '', NeonBranchLimitSource: '' }))
    .toEqual({
      maxFullLoadSubTasks: 8,
      parallelLoadThreads: undefined,
      validationThreads: 5,
      verificationSessions: undefined,
      neonStorage: { branchId: 'br-1', usedBytes: 2048, limitBytes: undefined, limitSource: undefined },
    });
  // the keep-alive could not read the branch: no storage, the check says it is unchecked
  expect(capacityOptions({ MaxFullLoadSubTasks: '8', NeonBranchId: '' })!.neonStorage).toBeUndefined();
  expect(capacityOptions(undefined)).toBeUndefined();
});

test('forTask counts the sessions of the task\'s verification on the target, created before or after it; a smaller number given is refused at synth', () => {
  const build = (order: 'preflight first' | 'verification first', given?: number) => {
    const stack = new Stack(new App(), 'S');
    const network = new NatEgressForReplication(stack, 'Network');
    const sourceSecret = secretsmanager.Secret.fromSecretNameV2(stack, 'Src', 'source/db');
    const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
    const task = new DmsMigrationTask(stack, 'Migration', {
      source: PostgresSourceEndpoint.fromEndpointArn(stack, 'Source', 'arn:aws:dms:us-east-1:123456789012:endpoint:SOURCE1'),
      target,
      network,
      schemaName: 'app',
      migrationType: MigrationType.FULL_LOAD,
      waitForCompletion: true,
    });
    const inputs = { task, network, sourceSecret, sourceDatabaseName: 'app', targetSecret: target.clientCredentialsSecret };
    const verify = () => MigrationVerification.forTask(stack, 'Verification', { ...inputs, distributed: { maxConcurrency: 12 } });
    if (order === 'verification first') verify();
    const preflight = MigrationPreflight.forTask(stack, 'Preflight', { ...inputs, targetCapacity: given === undefined ? {} : { verificationSessions: given } });
    if (order === 'preflight first') verify();
    const id = stack.getLogicalId(preflight.resource.node.defaultChild as any);
    return () => Template.fromStack(stack).toJSON().Resources[id].Properties.TargetCapacity;
  };
  expect(build('preflight first')().VerificationSessions).toBe(12);
  expect(build('verification first')().VerificationSessions).toBe(12);
  expect(build('preflight first', 16)().VerificationSessions).toBe(16);
  expect(build('preflight first', 2)).toThrow(/targetCapacity.verificationSessions is 2, but the task's verification S\/Verification opens up to 12 sessions on each database \(distributed.maxConcurrency\)/);
});

test('without a verification of the task, the capacity check counts none', () => {
  const stack = new Stack(new App(), 'S');
  const network = new NatEgressForReplication(stack, 'Network');
  const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
  const task = new DmsMigrationTask(stack, 'Migration', {
    source: PostgresSourceEndpoint.fromEndpointArn(stack, 'Source', 'arn:aws:dms:us-east-1:123456789012:endpoint:SOURCE1'),
    target,
    network,
    schemaName: 'app',
  });
  const preflight = MigrationPreflight.forTask(stack, 'Preflight', {
    task, network, sourceSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Src', 'source/db'), sourceDatabaseName: 'app', targetSecret: target.clientCredentialsSecret, targetCapacity: {},
  });
  const id = stack.getLogicalId(preflight.resource.node.defaultChild as any);
  const capacity = Template.fromStack(stack).toJSON().Resources[id].Properties.TargetCapacity;
  expect(capacity.VerificationSessions).toBeUndefined();
  expect(capacityOptions(capacity)!.verificationSessions).toBeUndefined();
});
