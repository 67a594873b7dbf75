import { App, aws_dms as dms, CfnParameter, Environment, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { EndpointType, IDmsEndpoint } from '../../lib/core/interfaces';
import { DmsConnectionTest } from '../../lib/lifecycle';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

const ENDPOINT_ARN = 'arn:aws:dms:us-east-2:123456789012:endpoint:SOURCEPG';
const INSTANCE_ARN = 'arn:aws:dms:us-east-2:123456789012:rep:INSTANCE1';


/** A minimal IDmsEndpoint, as any construct of this library or a user's own could be. */
class TestEndpoint extends Construct implements IDmsEndpoint {
  public readonly endpointArn: string;
  public readonly endpointIdentifier = 'source-pg';
  public readonly endpointType = EndpointType.SOURCE;
  public readonly engineName = 'postgres';
  public readonly port = 5432;
  public readonly resource: dms.CfnEndpoint;
  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.resource = new dms.CfnEndpoint(this, 'Resource', {
      endpointType: 'source',
      engineName: 'postgres',
      sslMode: 'require',
      serverName: 'db.example.com',
      port: 5432,
      databaseName: 'app',
    });
    this.endpointArn = this.resource.ref;
  }
}

function newStack(): Stack {
  return new Stack(new App(), 'S');
}

const ENDPOINTS_ARN = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':dms:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':endpoint:*']] };
const TAGGED_ENDPOINTS = {
  Action: 'dms:TestConnection',
  Condition: { StringEquals: { 'dms:endpoint-tag/cdk-neon-migration:lifecycle': { Ref: 'AWS::StackId' } } },
  Effect: 'Allow',
  Resource: ENDPOINTS_ARN,
};

function defaultPolicyStatements(template: Template): unknown[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy', {
    Properties: { PolicyName: Match.stringLikeRegexp('NeonDmsMigrationProviderHandlerRoleDefaultPolicy') },
  }));
  expect(policies).toHaveLength(1);
  return (policies[0] as any).Properties.PolicyDocument.Statement;
}

/** The IAM::Policy resources besides the shared default policy and the Provider framework's own. */
function ownPolicies(template: Template): Record<string, any> {
  const all = template.findResources('AWS::IAM::Policy');
  return Object.fromEntries(Object.entries(all).filter(([id]) => !/^NeonDmsMigrationProvider(HandlerRoleDefaultPolicy|framework|waiterstatemachineRole)/.test(id)));
}

test('tests an IDmsEndpoint from a replication instance: the endpoint is tagged and tested under one statement for the stack', () => {
  const stack = newStack();
  const endpoint = new TestEndpoint(stack, 'Source');
  const test = new DmsConnectionTest(stack, 'Test', { endpoint, replicationInstanceArn: INSTANCE_ARN });
  const template = Template.fromStack(stack);
  const endpointId = stack.getLogicalId(endpoint.resource);

  template.hasResourceProperties('Custom::DmsConnectionTest', {
    EndpointArns: [{ Ref: endpointId }],
    ReplicationInstanceArn: INSTANCE_ARN,
  });
  template.hasResourceProperties('AWS::DMS::Endpoint', {
    Tags: [{ Key: 'cdk-neon-migration:lifecycle', Value: { Ref: 'AWS::StackId' } }],
  });
  expect(defaultPolicyStatements(template)).toEqual(expect.arrayContaining([
    TAGGED_ENDPOINTS,
    { Action: 'dms:TestConnection', Effect: 'Allow', Resource: INSTANCE_ARN },
    { Action: 'dms:DescribeConnections', Effect: 'Allow', Resource: '*' },
  ]));
  // the shared policy names no resource of the stack: the handler functions depend on it
  expect(JSON.stringify(defaultPolicyStatements(template))).not.toContain(endpointId);
  expect(ownPolicies(template)).toEqual({});
  const resource = template.toJSON().Resources[stack.getLogicalId(test.resource.node.defaultChild as any)];
  expect(resource.DependsOn).toEqual(expect.arrayContaining([endpointId]));
  expect(test.endpointArn).toBe(endpoint.endpointArn);
  expect(test.endpointArns).toEqual([endpoint.endpointArn]);
  expect(test.replicationInstanceArn).toBe(INSTANCE_ARN);
});

test('tests several endpoints in one custom resource, adding no IAM resource per test', () => {
  const stack = newStack();
  const instance = new dms.CfnReplicationInstance(stack, 'Instance', { replicationInstanceClass: 'dms.t3.micro', publiclyAccessible: false });
  const tests = [1, 2, 3].map(i => {
    const source = new TestEndpoint(stack, `Source${i}`);
    const target = new TestEndpoint(stack, `Target${i}`);
    return { source, target, test: new DmsConnectionTest(stack, `Test${i}`, { endpoints: [source, target], replicationInstanceArn: instance.ref }) };
  });
  const template = Template.fromStack(stack);

  template.resourceCountIs('Custom::DmsConnectionTest', 3);
  template.hasResourceProperties('Custom::DmsConnectionTest', {
    EndpointArns: [{ Ref: stack.getLogicalId(tests[1].source.resource) }, { Ref: stack.getLogicalId(tests[1].target.resource) }],
    ReplicationInstanceArn: { Ref: stack.getLogicalId(instance) },
  });
  template.resourcePropertiesCountIs('AWS::DMS::Endpoint', {
    Tags: [{ Key: 'cdk-neon-migration:lifecycle', Value: { Ref: 'AWS::StackId' } }],
  }, 6);
  const statements = defaultPolicyStatements(template);
  expect(statements.filter(s => JSON.stringify(s).includes('endpoint-tag'))).toEqual([TAGGED_ENDPOINTS]);
  expect(statements.filter(s => JSON.stringify(s).includes('DescribeConnections'))).toHaveLength(1);

  // the instance (a token: it may depend on the provider) is named once, in a policy of its own
  const own = ownPolicies(template);
  expect(Object.keys(own)).toHaveLength(1);
  const [policyId, policy] = Object.entries(own)[0];
  expect(policyId).toMatch(/^NeonDmsMigrationProviderTestConnectionFrom[0-9A-F]{8}/);
  expect(policy.Properties.PolicyDocument.Statement).toEqual([
    { Action: 'dms:TestConnection', Effect: 'Allow', Resource: { Ref: stack.getLogicalId(instance) } },
  ]);
  for (const { test } of tests) {
    expect(template.toJSON().Resources[stack.getLogicalId(test.resource.node.defaultChild as any)].DependsOn).toContain(policyId);
  }
});

test('the instance policy keeps its logical id from one synth to the next', () => {
  const idOf = (extraFirst: boolean) => {
    const stack = newStack();
    if (extraFirst) {
      new DmsConnectionTest(stack, 'Other', { endpointArn: ENDPOINT_ARN, replicationInstanceArn: INSTANCE_ARN });
    }
    const instance = new dms.CfnReplicationInstance(stack, 'Instance', { replicationInstanceClass: 'dms.t3.micro', publiclyAccessible: false });
    new DmsConnectionTest(stack, 'Test', { endpointArn: ENDPOINT_ARN, replicationInstanceArn: instance.ref });
    return Object.keys(ownPolicies(Template.fromStack(stack)));
  };
  expect(idOf(false)).toHaveLength(1);
  expect(idOf(true)).toEqual(idOf(false));
});

test('tests a raw endpoint ARN: a literal ARN is named in the shared policy', () => {
  const stack = newStack();
  new DmsConnectionTest(stack, 'Test', { endpointArn: ENDPOINT_ARN, replicationInstanceArn: INSTANCE_ARN });
  const template = Template.fromStack(stack);
  template.hasResourceProperties('Custom::DmsConnectionTest', {
    EndpointArns: [ENDPOINT_ARN],
    ReplicationInstanceArn: INSTANCE_ARN,
  });
  const statements = defaultPolicyStatements(template);
  expect(statements).toEqual(expect.arrayContaining([
    { Action: 'dms:TestConnection', Effect: 'Allow', Resource: ENDPOINT_ARN },
    { Action: 'dms:TestConnection', Effect: 'Allow', Resource: INSTANCE_ARN },
  ]));
  expect(statements).not.toContainEqual(TAGGED_ENDPOINTS);
  expect(ownPolicies(template)).toEqual({});
});

test('an endpoint of another stack is named, not tagged', () => {
  const app = new App();
  const other = new Stack(app, 'Other');
  const endpoint = new TestEndpoint(other, 'Source');
  const stack = new Stack(app, 'S');
  new DmsConnectionTest(stack, 'Test', { endpoint, replicationInstanceArn: INSTANCE_ARN });
  expect(Template.fromStack(other).toJSON().Resources[other.getLogicalId(endpoint.resource)].Properties.Tags).toBeUndefined();
  const own = ownPolicies(Template.fromStack(stack));
  expect(Object.values(own).map(p => p.Properties.PolicyDocument.Statement)).toEqual([[
    { Action: 'dms:TestConnection', Effect: 'Allow', Resource: { 'Fn::ImportValue': expect.stringMatching(/^Other:ExportsOutputRefSource/) } },
  ]]);
});

test('waits for dependsOn, addDependency and node.addDependency', () => {
  const stack = newStack();
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const route = vpc.privateSubnets[0].internetConnectivityEstablished;
  const extra = new ec2.SecurityGroup(stack, 'Extra', { vpc });
  const viaNode = new ec2.SecurityGroup(stack, 'ViaNode', { vpc });

  const test = new DmsConnectionTest(stack, 'Test', { endpointArn: ENDPOINT_ARN, replicationInstanceArn: INSTANCE_ARN, dependsOn: [route] });
  test.addDependency(extra);
  test.node.addDependency(viaNode);

  const template = Template.fromStack(stack);
  const dependsOn = template.toJSON().Resources[stack.getLogicalId(test.resource.node.defaultChild as any)].DependsOn;
  const natRoute = Object.keys(template.findResources('AWS::EC2::Route')).find(id => id.includes('PrivateSubnet1DefaultRoute'))!;
  expect(dependsOn).toEqual(expect.arrayContaining([
    natRoute,
    stack.getLogicalId(extra.node.defaultChild as any),
    stack.getLogicalId(viaNode.node.defaultChild as any),
  ]));
});

test('accepts token ARNs', () => {
  const stack = newStack();
  const endpointArn = new CfnParameter(stack, 'EndpointArn').valueAsString;
  const instance = new dms.CfnReplicationInstance(stack, 'Instance', { replicationInstanceClass: 'dms.t3.micro', publiclyAccessible: false });
  const test = new DmsConnectionTest(stack, 'Test', { endpointArn, replicationInstanceArn: instance.ref });
  const template = Template.fromStack(stack);
  template.hasResourceProperties('Custom::DmsConnectionTest', {
    EndpointArns: [{ Ref: 'EndpointArn' }],
    ReplicationInstanceArn: { Ref: stack.getLogicalId(instance) },
  });
  // a token endpoint ARN is named in a policy of the test, the instance in one of the provider
  const own = ownPolicies(template);
  const testPolicyId = stack.getLogicalId(test.node.findChild('Permissions').node.defaultChild as any);
  expect(own[testPolicyId].Properties.PolicyDocument.Statement).toEqual([
    { Action: 'dms:TestConnection', Effect: 'Allow', Resource: { Ref: 'EndpointArn' } },
  ]);
  expect(Object.keys(own)).toHaveLength(2);
  expect(template.toJSON().Resources[stack.getLogicalId(test.resource.node.defaultChild as any)].DependsOn)
    .toEqual(expect.arrayContaining(Object.keys(own)));
});

test('two tests share one provider', () => {
  const stack = newStack();
  new DmsConnectionTest(stack, 'A', { endpointArn: ENDPOINT_ARN, replicationInstanceArn: INSTANCE_ARN });
  new DmsConnectionTest(stack, 'B', { endpointArn: ENDPOINT_ARN.replace('SOURCEPG', 'TARGET'), replicationInstanceArn: INSTANCE_ARN });
  const template = Template.fromStack(stack);
  template.resourceCountIs('Custom::DmsConnectionTest', 2);
  template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
});

describe('errors', () => {
  test.each([
    [{ replicationInstanceArn: INSTANCE_ARN }, 'DmsConnectionTest: set endpoint (an IDmsEndpoint), endpoints (several) or endpointArn (the ARN of any DMS endpoint).'],
    [{ endpoints: [], replicationInstanceArn: INSTANCE_ARN }, 'DmsConnectionTest: endpoints is empty: list at least one endpoint to test.'],
    [{ endpointArn: 'arn:aws:dms:us-east-2:123456789012:rep:X', replicationInstanceArn: INSTANCE_ARN },
      'DmsConnectionTest: endpointArn \'arn:aws:dms:us-east-2:123456789012:rep:X\' is not a DMS endpoint ARN (arn:aws:dms:<region>:<account>:endpoint:<id>).'],
    [{ endpointArn: ENDPOINT_ARN, replicationInstanceArn: 'dms_instance' },
      'DmsConnectionTest: replicationInstanceArn \'dms_instance\' is not a DMS replication instance ARN (arn:aws:dms:<region>:<account>:rep:<id>).'],
  ])('%o', (props, message) => {
    expect(() => new DmsConnectionTest(newStack(), 'Test', props)).toThrow(new Error(message));
  });

  test('endpoint and endpointArn together', () => {
    const stack = newStack();
    const endpoint = new TestEndpoint(stack, 'Source');
    expect(() => new DmsConnectionTest(stack, 'Test', { endpoint, endpointArn: ENDPOINT_ARN, replicationInstanceArn: INSTANCE_ARN }))
      .toThrow(new Error('DmsConnectionTest: endpoint and endpointArn are alternatives: set one of them.'));
  });

  test('endpoints and endpoint together', () => {
    const stack = newStack();
    const endpoint = new TestEndpoint(stack, 'Source');
    expect(() => new DmsConnectionTest(stack, 'Test', { endpoint, endpoints: [endpoint], replicationInstanceArn: INSTANCE_ARN }))
      .toThrow(new Error('DmsConnectionTest: endpoint and endpoints are alternatives: set one of them.'));
  });
});

test('schema and cdk-nag clean', () => {
  const build = (app: App, env?: Environment) => {
    const stack = new Stack(app, 'S', { env });
    const endpoint = new TestEndpoint(stack, 'Source');
    const instance = new dms.CfnReplicationInstance(stack, 'Instance', { replicationInstanceClass: 'dms.t3.micro', publiclyAccessible: false });
    new DmsConnectionTest(stack, 'Test', { endpoints: [endpoint, new TestEndpoint(stack, 'Target')], replicationInstanceArn: instance.ref });
    new DmsConnectionTest(stack, 'Raw', { endpointArn: ENDPOINT_ARN, replicationInstanceArn: INSTANCE_ARN });
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
