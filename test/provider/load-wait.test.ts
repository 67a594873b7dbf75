import { App, Duration, Environment, SecretValue, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { MigrationVerification } from '../../lib/checks/migration-verification';
import { DmsMigrationTask, DmsMigrationTaskProps } from '../../lib/migration';
import { NeonTargetEndpoint } from '../../lib/neon/target-endpoint';
import { NatEgressForReplication } from '../../lib/network/nat-egress';
import { ReplicationInstance } from '../../lib/replication/replication-instance';
import { ReplicationCompute } from '../../lib/replication/serverless';
import { PostgresSourceEndpoint } from '../../lib/sources/postgres';
import { TableMappings } from '../../lib/task';
import { DeployedTemplate, TemplateJson } from '../helpers/deployed';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

/*
 * CloudFormation fails a custom resource that has not answered within 3600 seconds of its request
 * (AWS::CloudFormation::CustomResource ServiceTimeout, 1-3600), and waits at most 43200 seconds for a
 * wait condition (AWS::CloudFormation::WaitCondition Timeout). These tests read the templates the
 * way CloudFormation would apply those limits.
 */

const HOUR = 3600;
const WAIT_CONDITION_LIMIT = 12 * HOUR;
const NEON_URI = 'postgresql://app@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require';

function migration(props: Partial<DmsMigrationTaskProps> = {}, app = new App(), env?: Environment) {
  const stack = new Stack(app, 'S', { env });
  const network = new NatEgressForReplication(stack, 'Network');
  const source = new PostgresSourceEndpoint(stack, 'Source', {
    secret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'SourceSecret', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:source-AbCdEf'),
    databaseName: 'app',
  });
  const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
  const replicationInstance = props.compute ? undefined : new ReplicationInstance(stack, 'Replication', { network });
  const task = new DmsMigrationTask(stack, 'Migration', {
    source, target, replicationInstance, network: replicationInstance ? undefined : network, schemaName: 'app', waitForCompletion: true, ...props,
  });
  return { stack, task, network, source, target };
}

function resources(template: Template, type: string): [string, any][] {
  return Object.entries<any>(template.findResources(type));
}

/** How long the Provider framework's waiter state machine lets a custom resource run: its retries of isComplete. */
function providerWaitSeconds(template: Template): number {
  const [[, machine]] = resources(template, 'AWS::StepFunctions::StateMachine').filter(([id]) => id.startsWith('NeonDmsMigrationProviderwaiter'));
  const definition = JSON.stringify(machine.Properties.DefinitionString);
  const interval = Number(/IntervalSeconds\\":(\d+)/.exec(definition)![1]);
  const attempts = Number(/MaxAttempts\\":(\d+)/.exec(definition)![1]);
  return interval * attempts;
}

describe('within CloudFormation\'s hour for a custom resource', () => {
  test('the shared provider gives up on a custom resource within 3600 seconds', () => {
    const { stack } = migration();
    expect(providerWaitSeconds(Template.fromStack(stack))).toBeLessThanOrEqual(HOUR);
  });

  test('by default the lifecycle waits 50 minutes itself: no wait condition', () => {
    const { stack, task } = migration();
    const template = Template.fromStack(stack);
    template.hasResourceProperties('Custom::DmsTaskLifecycle', { WaitForCompletion: 'true', MaxWaitSeconds: String(50 * 60) });
    template.resourceCountIs('AWS::CloudFormation::WaitCondition', 0);
    expect(task.lifecycle.completion).toBe(task.lifecycle.resource);
  });

  test.each([Duration.minutes(55), Duration.minutes(30)])('maxWait %s: the custom resource waits itself, leaving CloudFormation\'s hour room for the request and the last poll', (maxWait) => {
    const { stack } = migration({ maxWait });
    const template = Template.fromStack(stack);
    const [[, lifecycle]] = resources(template, 'Custom::DmsTaskLifecycle');
    expect(Number(lifecycle.Properties.MaxWaitSeconds)).toBeLessThanOrEqual(HOUR - 5 * 60);
    expect(lifecycle.Properties.LoadWaitHandle).toBeUndefined();
  });
});

describe('longer waits go through a wait condition', () => {
  test('maxWait 3 hours: a wait condition after the lifecycle, its handle and the stack\'s load waiter in the lifecycle\'s properties', () => {
    const { stack, task } = migration({ maxWait: Duration.hours(3) });
    const template = Template.fromStack(stack);
    const [[conditionId, condition]] = resources(template, 'AWS::CloudFormation::WaitCondition');
    const [[handleId]] = resources(template, 'AWS::CloudFormation::WaitConditionHandle');
    const [[lifecycleId, lifecycle]] = resources(template, 'Custom::DmsTaskLifecycle');
    const [[machineId]] = resources(template, 'AWS::StepFunctions::StateMachine').filter(([id]) => id.startsWith('NeonDmsLoadWaiter'));
    const [[permissionId, permission]] = resources(template, 'AWS::IAM::Policy').filter(([id]) => id.startsWith('NeonDmsLoadWaiterStartPermission'));

    expect(condition.Properties).toEqual({ Handle: { Ref: handleId }, Count: 1, Timeout: String(3 * HOUR + 15 * 60) });
    expect(Number(condition.Properties.Timeout)).toBeLessThanOrEqual(WAIT_CONDITION_LIMIT);
    expect(condition.DependsOn).toContain(lifecycleId);
    expect(lifecycle.Properties).toMatchObject({
      LoadWaitHandle: { Ref: handleId },
      LoadWaitStateMachineArn: { Ref: machineId },
      MaxWaitSeconds: String(3 * HOUR),
    });
    // the lifecycle may start the waiter before it needs to
    expect(lifecycle.DependsOn).toContain(permissionId);
    expect(permission.Properties.PolicyDocument.Statement).toEqual([{ Action: 'states:StartExecution', Effect: 'Allow', Resource: { Ref: machineId } }]);
    expect(stack.resolve((task.lifecycle.completion as any).logicalId)).toBe(conditionId);
  });

  test('the load waiter: one per stack, logs without execution data (the input holds the handle\'s presigned URL), traced, invoking the shared isComplete function', () => {
    const { stack, network, source, target } = migration({ maxWait: Duration.hours(2) });
    new DmsMigrationTask(stack, 'Second', { source, target, network, schemaName: 'sales', taskIdentifier: 'second', waitForCompletion: true, maxWait: Duration.hours(4) });
    const template = Template.fromStack(stack);
    const waiters = resources(template, 'AWS::StepFunctions::StateMachine').filter(([id]) => id.startsWith('NeonDmsLoadWaiter'));
    expect(waiters).toHaveLength(1);
    template.resourceCountIs('AWS::CloudFormation::WaitCondition', 2);
    const [[, machine]] = waiters;
    expect(machine.Properties.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
    expect(machine.Properties.TracingConfiguration).toEqual({ Enabled: true });
    expect(JSON.stringify(machine.Properties.DefinitionString)).toMatch(/NeonDmsMigrationProviderIsComplete/);
  });

  test('the longest wait stays within the 25,000 history events of a Step Functions execution (one poll a minute)', () => {
    const { stack } = migration({ maxWait: Duration.minutes(705) });
    const template = Template.fromStack(stack);
    const [[machineId]] = resources(template, 'AWS::StepFunctions::StateMachine').filter(([id]) => id.startsWith('NeonDmsLoadWaiter'));
    const deployed = new DeployedTemplate(template.toJSON() as TemplateJson);
    const states = Object.values<any>(JSON.parse(deployed.property(machineId, 'DefinitionString')).States);
    expect(states.find(x => x.Type === 'Wait').Seconds).toBe(60);
    expect(states.map(x => x.Type).sort()).toEqual(['Choice', 'Succeed', 'Task', 'Wait']);
    // per poll: Wait entered/exited (2), Task entered, Lambda scheduled/started/succeeded, Task exited (5), Choice entered/exited (2)
    const eventsPerPoll = 9;
    const polls = (WAIT_CONDITION_LIMIT + 15 * 60) / 60;
    expect(polls * eventsPerPoll).toBeLessThan(25_000);
    const [[, condition]] = resources(template, 'AWS::CloudFormation::WaitCondition');
    expect(Number(condition.Properties.Timeout)).toBe(WAIT_CONDITION_LIMIT);
  });

  test('each poll gets the whole state, the previous answer in $.Answer with it: what one poll leaves for the next (a build started) survives', () => {
    const { stack } = migration({ maxWait: Duration.hours(2) });
    const template = Template.fromStack(stack);
    const [[machineId]] = resources(template, 'AWS::StepFunctions::StateMachine').filter(([id]) => id.startsWith('NeonDmsLoadWaiter'));
    const deployed = new DeployedTemplate(template.toJSON() as TemplateJson);
    const task = Object.values<any>(JSON.parse(deployed.property(machineId, 'DefinitionString')).States).find(x => x.Type === 'Task');
    // the function itself as the resource, no Parameters, InputPath or ResultSelector: its input is the state, Answer included
    expect(task.Resource).toEqual(expect.stringMatching(/^arn:aws:lambda:.*NeonDmsMigrationProviderIsComplete/));
    expect([task.Parameters, task.InputPath, task.ResultSelector]).toEqual([undefined, undefined, undefined]);
    expect(task.ResultPath).toBe('$.Answer');
  });

  test('a change to the task gets a new wait condition (CloudFormation waits on one only when it creates it); no change keeps it', () => {
    const ids = (schemaName: string, maxWait = Duration.hours(3)) => {
      const { stack } = migration({ maxWait, tableMappings: TableMappings.includeSchema(schemaName), schemaName: undefined });
      const template = Template.fromStack(stack);
      return [...resources(template, 'AWS::CloudFormation::WaitCondition'), ...resources(template, 'AWS::CloudFormation::WaitConditionHandle')].map(([id]) => id);
    };
    expect(ids('app')).toEqual(ids('app'));
    expect(ids('app').every(id => !ids('sales').includes(id))).toBe(true);
    expect(ids('app').every(id => !ids('app', Duration.hours(4)).includes(id))).toBe(true);
  });

  test('DMS Serverless too', () => {
    const { stack } = migration({ maxWait: Duration.hours(5), compute: ReplicationCompute.serverless({ maxCapacityUnits: 4 }) });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::CloudFormation::WaitCondition', { Timeout: String(5 * HOUR + 15 * 60) });
    template.hasResourceProperties('Custom::DmsServerlessLifecycle', { Role: 'Lifecycle', LoadWaitHandle: { Ref: resources(template, 'AWS::CloudFormation::WaitConditionHandle')[0][0] } });
  });

  test('the verification of a task waits for its wait condition, not for the lifecycle resource', () => {
    const { stack, task, network, target } = migration({ maxWait: Duration.hours(3) });
    MigrationVerification.forTask(stack, 'Verification', {
      task,
      network,
      targetSecret: target.clientCredentialsSecret,
      sourceDatabaseName: 'app',
      sourceSecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'Src', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:source-AbCdEf'),
    });
    const template = Template.fromStack(stack);
    const [[conditionId]] = resources(template, 'AWS::CloudFormation::WaitCondition');
    const [[, verification]] = resources(template, 'Custom::NeonMigrationVerification');
    expect(verification.DependsOn).toContain(conditionId);
  });

  test('valid CloudFormation and cdk-nag clean', () => {
    const build = (app: App, env?: Environment) => migration({ maxWait: Duration.hours(3) }, app, env).stack;
    expectValidCloudFormation(build(new App()));
    expectNagClean(build);
  });
});
