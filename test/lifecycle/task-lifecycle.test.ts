import { App, aws_dms as dms, CfnParameter, CfnResource, Duration, Environment, Lazy, Resource, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, DependencyGroup } from 'constructs';
import { EndpointType, IDmsEndpoint } from '../../lib/core/interfaces';
import { ReplicationTaskLifecycle, TaskUpdateBehavior } from '../../lib/lifecycle';
import { CONNECTION_TEST_TYPE, TASK_LIFECYCLE_TYPE, TASK_STOPPER_TYPE } from '../../lib/lifecycle/kinds';
import { MigrationProvider } from '../../lib/provider/provider';
import { IReplicationInstance, ReplicationInstance } from '../../lib/replication/replication-instance';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

const INSTANCE_ARN = 'arn:aws:dms:us-east-2:123456789012:rep:INSTANCE1';
const SOURCE_ARN = 'arn:aws:dms:us-east-2:123456789012:endpoint:SOURCEPG';
const TARGET_ARN = 'arn:aws:dms:us-east-2:123456789012:endpoint:NEONTARGET';

const MAPPING_A = JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'object-locator': { 'schema-name': 'public', 'table-name': '%' }, 'rule-action': 'include' }] });
const MAPPING_B = JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'object-locator': { 'schema-name': 'sales', 'table-name': '%' }, 'rule-action': 'include' }] });


interface Fixture {
  readonly stack: Stack;
  readonly task: dms.CfnReplicationTask;
}

function fixture(overrides: Partial<dms.CfnReplicationTaskProps> = {}, app = new App(), env?: Environment): Fixture {
  const stack = new Stack(app, 'S', { env });
  const task = new dms.CfnReplicationTask(stack, 'Task', {
    replicationTaskIdentifier: 'neon-migration',
    migrationType: 'full-load-and-cdc',
    replicationInstanceArn: INSTANCE_ARN,
    sourceEndpointArn: SOURCE_ARN,
    targetEndpointArn: TARGET_ARN,
    tableMappings: MAPPING_A,
    ...overrides,
  });
  return { stack, task };
}

function resourceOfType(template: Template, type: string): { id: string; resource: any } {
  const found = template.findResources(type);
  const ids = Object.keys(found);
  expect(ids).toHaveLength(1);
  return { id: ids[0], resource: found[ids[0]] };
}

/** The hash the stack's stopper holds for `identifier`. */
function hashOf(template: Template, identifier = 'neon-migration'): string {
  return resourceOfType(template, TASK_STOPPER_TYPE).resource.Properties.Tasks[identifier].Hash;
}

function stopperHash(overrides: Partial<dms.CfnReplicationTaskProps> = {}): string {
  const { stack, task } = fixture(overrides);
  new ReplicationTaskLifecycle(stack, 'Lifecycle', { replicationTask: task });
  return hashOf(Template.fromStack(stack));
}

test('orders stopper → task → lifecycle, and the start after the startAfter dependables', () => {
  const { stack, task } = fixture();
  const connectionTest = new CfnResource(stack, 'ConnectionTest', { type: 'Custom::Stub' });
  const route = new CfnResource(stack, 'Route', { type: 'Custom::Stub' });
  const egress = new DependencyGroup(route);
  new ReplicationTaskLifecycle(stack, 'Lifecycle', { replicationTask: task, startAfter: [connectionTest, egress] });

  const template = Template.fromStack(stack);
  const taskId = stack.getLogicalId(task);
  const stopper = resourceOfType(template, TASK_STOPPER_TYPE);
  const lifecycle = resourceOfType(template, TASK_LIFECYCLE_TYPE);

  expect(template.toJSON().Resources[taskId].DependsOn).toContain(stopper.id);
  expect(lifecycle.resource.DependsOn).toEqual(expect.arrayContaining([
    taskId,
    stack.getLogicalId(connectionTest),
    stack.getLogicalId(route),
  ]));
  expect(stopper.resource.DependsOn ?? []).not.toContain(taskId);
  expect(lifecycle.resource.Properties).toEqual(expect.objectContaining({
    TaskArn: { Ref: taskId },
    TaskIdentifier: 'neon-migration',
    MigrationType: 'full-load-and-cdc',
    StartOnDeploy: 'true',
    WaitForCompletion: 'false',
    MaxWaitSeconds: '3000',
    OnUpdate: 'resume-processing',
    PropertiesHash: hashOf(template),
  }));
  // the stack's one stopper, found under the stack by id, maps the task identifier to the hash
  expect(stopper.id).toMatch(/^NeonDmsTaskStopper/);
  expect(stopper.resource.Properties).toEqual({
    ServiceToken: expect.anything(),
    Tasks: { 'neon-migration': { Hash: expect.stringMatching(/^[0-9a-f]{64}$/), OnUpdate: 'resume-processing', StartOnDeploy: 'true', LogicalId: 'Task' } },
  });
});

test('the dependency graph has no cycle, with one lifecycle or several, with DmsConnectionTest-like dependencies', () => {
  const { stack, task } = fixture();
  const second = new dms.CfnReplicationTask(stack, 'Task2', {
    replicationTaskIdentifier: 'second',
    migrationType: 'cdc',
    replicationInstanceArn: INSTANCE_ARN,
    sourceEndpointArn: SOURCE_ARN,
    targetEndpointArn: TARGET_ARN,
    tableMappings: MAPPING_B,
  });
  const connectionTest = new CfnResource(stack, 'ConnectionTest', { type: 'Custom::Stub', properties: { Instance: INSTANCE_ARN } });
  new ReplicationTaskLifecycle(stack, 'A', { replicationTask: task, startAfter: [connectionTest], waitForCompletion: true });
  new ReplicationTaskLifecycle(stack, 'B', { replicationTask: second });
  // Template.fromStack rejects templates with a dependency cycle
  expect(() => Template.fromStack(stack)).not.toThrow();
});

test('a task ARN in the shared role\'s default policy would form a cycle (why the permissions are scoped by tag)', () => {
  const { stack, task } = fixture();
  const lifecycle = new ReplicationTaskLifecycle(stack, 'Lifecycle', { replicationTask: task });
  MigrationProvider.of(lifecycle).role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dms:StartReplicationTask'], resources: [task.ref] }));
  expect(() => Template.fromStack(stack)).toThrow(/dependency cycle: Task -> NeonDmsTaskStopper/);
});

test('addStartDependency adds a dependency of the start, not of the stopper', () => {
  const { stack, task } = fixture();
  const lifecycle = new ReplicationTaskLifecycle(stack, 'Lifecycle', { replicationTask: task });
  const later = new CfnResource(stack, 'IpAllow', { type: 'Custom::Stub' });
  lifecycle.addStartDependency(later);

  const template = Template.fromStack(stack);
  expect(resourceOfType(template, TASK_LIFECYCLE_TYPE).resource.DependsOn).toContain(stack.getLogicalId(later));
  expect(resourceOfType(template, TASK_STOPPER_TYPE).resource.DependsOn ?? []).not.toContain(stack.getLogicalId(later));
});

test('passes the props to the lifecycle resource', () => {
  const { stack, task } = fixture({ replicationTaskIdentifier: 'Neon-Migration', migrationType: 'full-load' });
  new ReplicationTaskLifecycle(stack, 'Lifecycle', {
    replicationTask: task,
    startOnDeploy: false,
    waitForCompletion: true,
    maxWait: Duration.minutes(30),
    onUpdate: TaskUpdateBehavior.RELOAD,
  });
  Template.fromStack(stack).hasResourceProperties(TASK_LIFECYCLE_TYPE, {
    TaskIdentifier: 'neon-migration',
    MigrationType: 'full-load',
    StartOnDeploy: 'false',
    WaitForCompletion: 'true',
    MaxWaitSeconds: '1800',
    OnUpdate: 'reload-target',
  });
  expect(hashOf(Template.fromStack(stack))).toMatch(/^[0-9a-f]{64}$/);
});

test('the stopper hash changes with the table mappings, the task settings and the CDC positions, and only with them', () => {
  const base = stopperHash();
  expect(stopperHash()).toBe(base);
  expect(stopperHash({ tags: [{ key: 'team', value: 'data' }] })).toBe(base);
  expect(stopperHash({ tableMappings: MAPPING_B })).not.toBe(base);
  expect(stopperHash({ replicationTaskSettings: JSON.stringify({ Logging: { EnableLogging: true } }) })).not.toBe(base);
  expect(stopperHash({ cdcStartPosition: '2026-01-01T00:00:00' })).not.toBe(base);
  expect(stopperHash({ cdcStopPosition: 'server_time:2026-02-01T00:00:00' })).not.toBe(base);
  expect(stopperHash({ cdcStartTime: 1767225600 })).not.toBe(base);
});

test('the hash sees table mappings set after the construct, and hashes tokens as their resolved expression', () => {
  const { stack, task } = fixture();
  new ReplicationTaskLifecycle(stack, 'Lifecycle', { replicationTask: task });
  task.tableMappings = MAPPING_B;
  const late = hashOf(Template.fromStack(stack));
  expect(late).toBe(stopperHash({ tableMappings: MAPPING_B }));

  const withToken = fixture();
  const mappings = new CfnParameter(withToken.stack, 'Mappings');
  withToken.task.tableMappings = mappings.valueAsString;
  new ReplicationTaskLifecycle(withToken.stack, 'Lifecycle', { replicationTask: withToken.task });
  const hash = hashOf(Template.fromStack(withToken.stack));
  expect(hash).toMatch(/^[0-9a-f]{64}$/);
  expect(hash).not.toBe(stopperHash());
});

const TASKS_ARN = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':dms:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':task:*']] };
const TASK_CONTROL = {
  Effect: 'Allow',
  Action: ['dms:StartReplicationTask', 'dms:StopReplicationTask', 'dms:DescribeTableStatistics', 'dms:ListTagsForResource'],
  Resource: TASKS_ARN,
  Condition: { StringEquals: { 'dms:task-tag/cdk-neon-migration:lifecycle': { Ref: 'AWS::StackId' } } },
};

function defaultPolicyStatements(template: Template): any[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy', {
    Properties: { PolicyName: Match.stringLikeRegexp('NeonDmsMigrationProviderHandlerRoleDefaultPolicy') },
  }));
  expect(policies).toHaveLength(1);
  return (policies[0] as any).Properties.PolicyDocument.Statement;
}

test('tags the task with the stack id and scopes Start/Stop/DescribeTableStatistics by that tag', () => {
  const { stack, task } = fixture();
  new ReplicationTaskLifecycle(stack, 'Lifecycle', { replicationTask: task });
  const template = Template.fromStack(stack);
  const taskId = stack.getLogicalId(task);

  template.hasResourceProperties('AWS::DMS::ReplicationTask', {
    Tags: Match.arrayWith([{ Key: 'cdk-neon-migration:lifecycle', Value: { Ref: 'AWS::StackId' } }]),
  });

  // one statement for all tasks of the stack, in the shared role's default policy: no IAM resource of this construct
  const statements = defaultPolicyStatements(template);
  expect(statements).toEqual(expect.arrayContaining([
    TASK_CONTROL,
    { Effect: 'Allow', Action: 'dms:DescribeReplicationTasks', Resource: '*' },
  ]));
  // naming the task there would close a cycle: task → stopper → provider functions → default policy → task
  expect(JSON.stringify(statements)).not.toContain(`{"Ref":"${taskId}"}`);
  // a rollback's handlers read the stack's status and the hash CloudFormation last wrote on the task
  expect(statements).toContainEqual({
    Effect: 'Allow', Action: ['cloudformation:DescribeStacks', 'cloudformation:DescribeStackResource'], Resource: { Ref: 'AWS::StackId' },
  });
  template.hasResourceProperties('AWS::DMS::ReplicationTask', {
    Tags: Match.arrayWith([{ Key: 'cdk-neon-migration:properties-hash', Value: hashOf(template) }]),
  });
  template.resourceCountIs('AWS::IAM::Policy', 5); // the default policy and the Provider framework's four
  expect(Object.keys(template.findResources('AWS::IAM::Policy')).filter(id => id.startsWith('Lifecycle'))).toEqual([]);
});

test('two lifecycles share one provider, one stopper and one tag-scoped statement', () => {
  const { stack, task } = fixture();
  const second = new dms.CfnReplicationTask(stack, 'Task2', {
    replicationTaskIdentifier: 'neon-migration-2',
    migrationType: 'cdc',
    replicationInstanceArn: INSTANCE_ARN,
    sourceEndpointArn: SOURCE_ARN,
    targetEndpointArn: TARGET_ARN,
    tableMappings: MAPPING_B,
  });
  const a = new ReplicationTaskLifecycle(stack, 'A', { replicationTask: task });
  const b = new ReplicationTaskLifecycle(stack, 'B', { replicationTask: second });
  expect(a.stopper).toBe(b.stopper);
  const template = Template.fromStack(stack);
  const stopper = resourceOfType(template, TASK_STOPPER_TYPE);
  expect(Object.keys(stopper.resource.Properties.Tasks)).toEqual(['neon-migration', 'neon-migration-2']);
  expect(stopper.resource.Properties.Tasks['neon-migration'].Hash).not.toBe(stopper.resource.Properties.Tasks['neon-migration-2'].Hash);
  for (const t of [task, second]) {
    expect(template.toJSON().Resources[stack.getLogicalId(t)].DependsOn).toContain(stopper.id);
  }
  template.resourceCountIs(TASK_LIFECYCLE_TYPE, 2);
  template.resourceCountIs('AWS::Lambda::Function', 5); // onEvent, isComplete + the Provider framework's onEvent, isComplete, onTimeout
  template.resourceCountIs('AWS::IAM::Policy', 5); // as many as with one lifecycle
  expect(defaultPolicyStatements(template).filter(s => JSON.stringify(s.Action).includes('dms:StartReplicationTask'))).toEqual([TASK_CONTROL]);
  template.resourcePropertiesCountIs('AWS::DMS::ReplicationTask', {
    Tags: Match.arrayWith([{ Key: 'cdk-neon-migration:lifecycle', Value: { Ref: 'AWS::StackId' } }]),
  }, 2);
});

test('exposes the task identifier, ARN and a Status attribute', () => {
  const { stack, task } = fixture();
  const lifecycle = new ReplicationTaskLifecycle(stack, 'Lifecycle', { replicationTask: task });
  expect(lifecycle.replicationTaskIdentifier).toBe('neon-migration');
  expect(stack.resolve(lifecycle.replicationTaskArn)).toEqual({ Ref: stack.getLogicalId(task) });
  expect(stack.resolve(lifecycle.status)).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(lifecycle.resource.node.defaultChild as CfnResource), 'Status'] });
});

describe('validation', () => {
  test('the task identifier must be set', () => {
    const { stack, task } = fixture({ replicationTaskIdentifier: undefined });
    expect(() => new ReplicationTaskLifecycle(stack, 'Lifecycle', { replicationTask: task }))
      .toThrow(/ReplicationTaskLifecycle: replicationTask.replicationTaskIdentifier must be set to a literal string/);
  });

  test('a token identifier must resolve to a literal at synth (a parameter does not; a generated one does)', () => {
    const { stack, task } = fixture();
    task.replicationTaskIdentifier = new CfnParameter(stack, 'Name').valueAsString;
    new ReplicationTaskLifecycle(stack, 'Lifecycle', { replicationTask: task });
    expect(() => Template.fromStack(stack)).toThrow(
      /ReplicationTaskLifecycle: replicationTask.replicationTaskIdentifier must resolve to a literal string at synth \(the stop before an update finds the resource by it\), got \{"Ref":"Name"\}/);

    const late = fixture();
    late.task.replicationTaskIdentifier = Lazy.string({ produce: () => 'late-task' });
    new ReplicationTaskLifecycle(late.stack, 'Lifecycle', { replicationTask: late.task });
    expect(hashOf(Template.fromStack(late.stack), 'late-task')).toMatch(/^[0-9a-f]{64}$/);

    const bad = fixture();
    bad.task.replicationTaskIdentifier = Lazy.string({ produce: () => 'late--task' });
    new ReplicationTaskLifecycle(bad.stack, 'Lifecycle', { replicationTask: bad.task });
    expect(() => Template.fromStack(bad.stack)).toThrow(/replicationTaskIdentifier 'late--task' must not contain two consecutive hyphens/);
  });

  test.each([
    ['1task', 'begin with a letter'],
    ['task--x', 'not contain two consecutive hyphens'],
    ['task-', 'not end with a hyphen'],
    ['task_x', 'contain only ASCII letters, digits and hyphens'],
    ['a'.repeat(256), 'be 1 to 255 characters long (it has 256)'],
  ])('rejects the identifier %p', (identifier, rule) => {
    const { stack, task } = fixture({ replicationTaskIdentifier: identifier });
    expect(() => new ReplicationTaskLifecycle(stack, 'Lifecycle', { replicationTask: task }))
      .toThrow(new Error(`ReplicationTaskLifecycle: replicationTask.replicationTaskIdentifier '${identifier}' must ${rule}.`));
  });

  test('two tasks of a stack cannot share an identifier (DMS identifiers are unique per account and region)', () => {
    const { stack, task } = fixture();
    const twin = new dms.CfnReplicationTask(stack, 'Twin', {
      replicationTaskIdentifier: 'Neon-Migration',
      migrationType: 'cdc',
      replicationInstanceArn: INSTANCE_ARN,
      sourceEndpointArn: SOURCE_ARN,
      targetEndpointArn: TARGET_ARN,
      tableMappings: MAPPING_B,
    });
    new ReplicationTaskLifecycle(stack, 'A', { replicationTask: task });
    expect(() => new ReplicationTaskLifecycle(stack, 'B', { replicationTask: twin }))
      .toThrow("ReplicationTaskLifecycle: two replication tasks in stack S have the identifier 'neon-migration'; DMS task identifiers are unique per account and region. Give each task its own identifier.");
  });

  test('accepts a 255-character identifier', () => {
    const { stack, task } = fixture({ replicationTaskIdentifier: 'a'.repeat(255) });
    expect(() => new ReplicationTaskLifecycle(stack, 'Lifecycle', { replicationTask: task })).not.toThrow();
  });

  test.each([Duration.seconds(30), Duration.minutes(706), Duration.hours(12)])('rejects maxWait %s', (maxWait) => {
    const { stack, task } = fixture();
    expect(() => new ReplicationTaskLifecycle(stack, 'Lifecycle', { replicationTask: task, waitForCompletion: true, maxWait }))
      .toThrow(/ReplicationTaskLifecycle: maxWait is \d+ seconds; use between 1 minute and 11 hours 45 minutes: CloudFormation waits at most 12 hours for a wait condition/);
  });

  test('accepts a token maxWait', () => {
    const { stack, task } = fixture();
    const minutes = new CfnParameter(stack, 'Seconds', { type: 'Number' });
    new ReplicationTaskLifecycle(stack, 'Lifecycle', { replicationTask: task, waitForCompletion: true, maxWait: Duration.seconds(minutes.valueAsNumber) });
    const props = resourceOfType(Template.fromStack(stack), TASK_LIFECYCLE_TYPE).resource.Properties;
    expect(JSON.stringify(props.MaxWaitSeconds)).toContain('Seconds');
  });

  test('warns that maxWait without waitForCompletion is ignored', () => {
    const { stack, task } = fixture();
    new ReplicationTaskLifecycle(stack, 'Lifecycle', { replicationTask: task, maxWait: Duration.minutes(10) });
    Annotations.fromStack(stack).hasWarning('/S/Lifecycle', Match.stringLikeRegexp('maxWait only applies with waitForCompletion'));
  });
});

test('the template is valid CloudFormation and cdk-nag clean', () => {
  const build = (app: App, env?: Environment) => {
    const { stack, task } = fixture({}, app, env);
    const connectionTest = new CfnResource(stack, 'ConnectionTest', { type: 'Custom::Stub' });
    new ReplicationTaskLifecycle(stack, 'Lifecycle', { replicationTask: task, startAfter: [connectionTest], waitForCompletion: true });
    return stack;
  };
  expectValidCloudFormation(build(new App()));
  expectNagClean(build, [
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    'AwsSolutions-IAM5[Resource::<NeonDmsMigrationProviderOnEvent4471F7DC.Arn>:*]',
    'AwsSolutions-IAM5[Resource::<NeonDmsMigrationProviderIsComplete481BE9D2.Arn>:*]',
    'AwsSolutions-IAM5[Resource::<NeonDmsMigrationProviderframeworkisComplete197DB1EB.Arn>:*]',
    'AwsSolutions-IAM5[Resource::<NeonDmsMigrationProviderframeworkonTimeout8FD6857C.Arn>:*]',
  ].map(id => ({ id, reason: 'Provider framework internals of the shared custom-resource provider.', pathPattern: '^S/NeonDmsMigrationProvider/Provider/' })));
});

/** A minimal IDmsEndpoint of the stack. */
class StackEndpoint extends Resource implements IDmsEndpoint {
  public readonly endpointArn: string;
  public readonly endpointIdentifier = 'source-pg';
  public readonly endpointType = EndpointType.SOURCE;
  public readonly engineName = 'postgres';
  public readonly port = 5432;
  public readonly resource: dms.CfnEndpoint;
  public readonly role: CfnResource;
  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.role = new CfnResource(this, 'AccessRole', { type: 'Custom::Stub' });
    this.resource = new dms.CfnEndpoint(this, 'Resource', { endpointType: 'source', engineName: 'postgres', sslMode: 'require', serverName: 'db', port: 5432, databaseName: 'app' });
    this.endpointArn = this.resource.ref;
  }
}

describe('testConnections: the lifecycle resource tests the connections before the start', () => {
  test('passes the endpoints and the instance, tags the endpoints, grants TestConnection by tag, and waits for what the endpoints are made of', () => {
    const { stack, task } = fixture();
    const source = new StackEndpoint(stack, 'Source');
    new ReplicationTaskLifecycle(stack, 'Lifecycle', {
      replicationTask: task,
      testConnections: { endpoints: [source], replicationInstance: importedInstance(stack, INSTANCE_ARN) },
    });
    const template = Template.fromStack(stack);
    const lifecycle = resourceOfType(template, TASK_LIFECYCLE_TYPE);
    expect(lifecycle.resource.Properties).toEqual(expect.objectContaining({
      TestEndpointArns: [{ Ref: stack.getLogicalId(source.resource) }],
      TestReplicationInstanceArn: INSTANCE_ARN,
      TestSources: [{ EndpointArn: { Ref: stack.getLogicalId(source.resource) }, Port: '5432', SecurityGroupIds: [] }],
    }));
    expect(lifecycle.resource.DependsOn).toEqual(expect.arrayContaining([stack.getLogicalId(source.resource), stack.getLogicalId(source.role)]));
    template.hasResourceProperties('AWS::DMS::Endpoint', {
      Tags: [{ Key: 'cdk-neon-migration:lifecycle', Value: { Ref: 'AWS::StackId' } }],
    });
    expect(defaultPolicyStatements(template)).toEqual(expect.arrayContaining([
      { Effect: 'Allow', Action: 'dms:DescribeConnections', Resource: '*' },
      {
        Effect: 'Allow',
        Action: 'dms:TestConnection',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':dms:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':endpoint:*']] },
        Condition: { StringEquals: { 'dms:endpoint-tag/cdk-neon-migration:lifecycle': { Ref: 'AWS::StackId' } } },
      },
      { Effect: 'Allow', Action: 'dms:TestConnection', Resource: INSTANCE_ARN },
    ]));
    template.resourceCountIs(CONNECTION_TEST_TYPE, 0);
  });

  test('the tests wait for the instance\'s egressReady', () => {
    const { stack, task } = fixture();
    const route = new CfnResource(stack, 'Route', { type: 'Custom::StandInForRoute' });
    const replicationInstance = ReplicationInstance.fromReplicationInstanceAttributes(stack, 'Instance', {
      replicationInstanceArn: INSTANCE_ARN, replicationInstanceIdentifier: 'instance-1', egressReady: route,
    });
    new ReplicationTaskLifecycle(stack, 'Lifecycle', {
      replicationTask: task,
      testConnections: { endpoints: [new StackEndpoint(stack, 'Source')], replicationInstance },
    });
    expect(resourceOfType(Template.fromStack(stack), TASK_LIFECYCLE_TYPE).resource.DependsOn).toContain('Route');
  });

  test('without testConnections, the lifecycle tests nothing', () => {
    const { stack, task } = fixture();
    new ReplicationTaskLifecycle(stack, 'Lifecycle', { replicationTask: task });
    const props = resourceOfType(Template.fromStack(stack), TASK_LIFECYCLE_TYPE).resource.Properties;
    expect(props.TestEndpointArns).toBeUndefined();
    expect(props.TestReplicationInstanceArn).toBeUndefined();
  });

  test.each([
    [{ endpoints: [], replicationInstanceArn: INSTANCE_ARN },
      'ReplicationTaskLifecycle: testConnections.endpoints is empty: list the endpoints to test, or leave testConnections out.'],
    [{ endpoints: [{ endpointArn: 'arn:aws:dms:us-east-2:123456789012:rep:NOTANENDPOINT' }], replicationInstanceArn: INSTANCE_ARN },
      'ReplicationTaskLifecycle: testConnections.endpoints[].endpointArn \'arn:aws:dms:us-east-2:123456789012:rep:NOTANENDPOINT\' is not a DMS endpoint ARN (arn:aws:dms:<region>:<account>:endpoint:<id>).'],
    [{ endpoints: [{ endpointArn: SOURCE_ARN }], replicationInstanceArn: 'instance-1' },
      'ReplicationTaskLifecycle: testConnections.replicationInstance.replicationInstanceArn \'instance-1\' is not a DMS replication instance ARN (arn:aws:dms:<region>:<account>:rep:<id>).'],
  ])('rejects %j', (tests, message) => {
    const { stack, task } = fixture();
    const endpoints = (tests.endpoints as Array<{ endpointArn: string }>).map((e, i) => Object.assign(new Construct(stack, `E${i}`), e) as unknown as IDmsEndpoint);
    const replicationInstance = importedInstance(stack, tests.replicationInstanceArn);
    expect(() => new ReplicationTaskLifecycle(stack, 'Lifecycle', { replicationTask: task, testConnections: { endpoints, replicationInstance } }))
      .toThrow(new Error(message));
  });
});

function importedInstance(scope: Construct, replicationInstanceArn: string): IReplicationInstance {
  return ReplicationInstance.fromReplicationInstanceAttributes(scope, 'Instance', { replicationInstanceArn, replicationInstanceIdentifier: 'instance-1' });
}
