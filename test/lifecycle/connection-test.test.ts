import { App, aws_dms as dms, CfnParameter, Environment, Resource, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { EndpointType, IDmsEndpoint } from '../../lib/core/interfaces';
import { DmsConnectionTest } from '../../lib/lifecycle';
import { NeonTargetEndpoint } from '../../lib/neon/target-endpoint';
import { IReplicationInstance, ReplicationInstance } from '../../lib/replication/replication-instance';
import { PostgresSourceEndpoint } from '../../lib/sources/postgres';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

const ENDPOINT_ARN = 'arn:aws:dms:us-east-2:123456789012:endpoint:SOURCEPG';
const INSTANCE_ARN = 'arn:aws:dms:us-east-2:123456789012:rep:INSTANCE1';


/** A minimal IDmsEndpoint, as any construct of this library or a user's own could be. */
class TestEndpoint extends Resource implements IDmsEndpoint {
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

/** A replication instance known by its ARN (literal or token). */
function instanceWithArn(scope: Construct, replicationInstanceArn: string, id = 'Instance'): IReplicationInstance {
  return ReplicationInstance.fromReplicationInstanceAttributes(scope, id, { replicationInstanceArn, replicationInstanceIdentifier: 'instance-1' });
}

/** An endpoint made elsewhere. */
function rawEndpoint(scope: Construct, endpointArn = ENDPOINT_ARN, id = 'Raw'): IDmsEndpoint {
  return PostgresSourceEndpoint.fromEndpointArn(scope, id, endpointArn);
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
  const test = new DmsConnectionTest(stack, 'Test', { endpoint, replicationInstance: instanceWithArn(stack, INSTANCE_ARN) });
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
    return { source, target, test: new DmsConnectionTest(stack, `Test${i}`, { endpoints: [source, target], replicationInstance: instanceWithArn(stack, instance.ref, `Imported${i}`) }) };
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
      new DmsConnectionTest(stack, 'Other', { endpoint: rawEndpoint(stack, ENDPOINT_ARN, 'OtherRaw'), replicationInstance: instanceWithArn(stack, INSTANCE_ARN, 'OtherInstance') });
    }
    const instance = new dms.CfnReplicationInstance(stack, 'Instance', { replicationInstanceClass: 'dms.t3.micro', publiclyAccessible: false });
    new DmsConnectionTest(stack, 'Test', { endpoint: rawEndpoint(stack), replicationInstance: instanceWithArn(stack, instance.ref, 'Imported') });
    return Object.keys(ownPolicies(Template.fromStack(stack)));
  };
  expect(idOf(false)).toHaveLength(1);
  expect(idOf(true)).toEqual(idOf(false));
});

test('tests an endpoint made elsewhere (fromEndpointArn): its literal ARN is named in the shared policy', () => {
  const stack = newStack();
  new DmsConnectionTest(stack, 'Test', { endpoint: rawEndpoint(stack), replicationInstance: instanceWithArn(stack, INSTANCE_ARN) });
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
  new DmsConnectionTest(stack, 'Test', { endpoint, replicationInstance: instanceWithArn(stack, INSTANCE_ARN) });
  expect(Template.fromStack(other).toJSON().Resources[other.getLogicalId(endpoint.resource)].Properties.Tags).toBeUndefined();
  const own = ownPolicies(Template.fromStack(stack));
  expect(Object.values(own).map(p => p.Properties.PolicyDocument.Statement)).toEqual([[
    { Action: 'dms:TestConnection', Effect: 'Allow', Resource: { 'Fn::ImportValue': expect.stringMatching(/^Other:ExportsOutputRefSource/) } },
  ]]);
});

test('waits for the instance\'s egressReady, addDependency and node.addDependency', () => {
  const stack = newStack();
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const route = vpc.privateSubnets[0].internetConnectivityEstablished;
  const extra = new ec2.SecurityGroup(stack, 'Extra', { vpc });
  const viaNode = new ec2.SecurityGroup(stack, 'ViaNode', { vpc });
  const instance = ReplicationInstance.fromReplicationInstanceAttributes(stack, 'Instance', {
    replicationInstanceArn: INSTANCE_ARN, replicationInstanceIdentifier: 'instance-1', egressReady: route,
  });

  const test = new DmsConnectionTest(stack, 'Test', { endpoint: rawEndpoint(stack), replicationInstance: instance });
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
  const test = new DmsConnectionTest(stack, 'Test', { endpoint: rawEndpoint(stack, endpointArn), replicationInstance: instanceWithArn(stack, instance.ref, 'Imported') });
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
  const instance = instanceWithArn(stack, INSTANCE_ARN);
  new DmsConnectionTest(stack, 'A', { endpoint: rawEndpoint(stack, ENDPOINT_ARN, 'RawA'), replicationInstance: instance });
  new DmsConnectionTest(stack, 'B', { endpoint: rawEndpoint(stack, ENDPOINT_ARN.replace('SOURCEPG', 'TARGET'), 'RawB'), replicationInstance: instance });
  const template = Template.fromStack(stack);
  template.resourceCountIs('Custom::DmsConnectionTest', 2);
  template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
});

describe('errors', () => {
  test('no endpoint', () => {
    const stack = newStack();
    expect(() => new DmsConnectionTest(stack, 'Test', { replicationInstance: instanceWithArn(stack, INSTANCE_ARN) }))
      .toThrow(new Error('DmsConnectionTest: set endpoint (an IDmsEndpoint; import one created elsewhere with fromEndpointArn) or endpoints (several).'));
  });

  test('no endpoints', () => {
    const stack = newStack();
    expect(() => new DmsConnectionTest(stack, 'Test', { endpoints: [], replicationInstance: instanceWithArn(stack, INSTANCE_ARN) }))
      .toThrow(new Error('DmsConnectionTest: endpoints is empty: list at least one endpoint to test.'));
  });

  test('an imported endpoint whose ARN is not an endpoint\'s', () => {
    expect(() => rawEndpoint(newStack(), 'arn:aws:dms:us-east-2:123456789012:rep:X'))
      .toThrow(new Error('PostgresSourceEndpoint.fromEndpointAttributes: endpointArn \'arn:aws:dms:us-east-2:123456789012:rep:X\' is not a DMS endpoint ARN (arn:aws:dms:<region>:<account>:endpoint:<id>).'));
  });

  test('an instance whose ARN is not a replication instance\'s', () => {
    const stack = newStack();
    expect(() => new DmsConnectionTest(stack, 'Test', { endpoint: rawEndpoint(stack), replicationInstance: instanceWithArn(stack, 'dms_instance') }))
      .toThrow(new Error('DmsConnectionTest: replicationInstance.replicationInstanceArn \'dms_instance\' is not a DMS replication instance ARN (arn:aws:dms:<region>:<account>:rep:<id>).'));
  });

  test('endpoints and endpoint together', () => {
    const stack = newStack();
    const endpoint = new TestEndpoint(stack, 'Source');
    expect(() => new DmsConnectionTest(stack, 'Test', { endpoint, endpoints: [endpoint], replicationInstance: instanceWithArn(stack, INSTANCE_ARN) }))
      .toThrow(new Error('DmsConnectionTest: endpoint and endpoints are alternatives: set one of them.'));
  });
});

describe('the source database and the replication instance', () => {
  function placed() {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
    const databaseGroup = new ec2.SecurityGroup(stack, 'DatabaseGroup', { vpc, allowAllOutbound: false });
    const replicationGroup = new ec2.SecurityGroup(stack, 'ReplicationGroup', { vpc, allowAllOutbound: false });
    const instance = ReplicationInstance.fromReplicationInstanceAttributes(stack, 'Instance', {
      replicationInstanceArn: INSTANCE_ARN, replicationInstanceIdentifier: 'instance-1', securityGroups: [replicationGroup],
    });
    return { stack, databaseGroup, replicationGroup, instance };
  }

  test('a source that knows its database gets it opened to the instance on its port, both ways, before the test runs', () => {
    const { stack, databaseGroup, replicationGroup, instance } = placed();
    const source = PostgresSourceEndpoint.fromEndpointAttributes(stack, 'Source', {
      endpointArn: ENDPOINT_ARN, port: 5433, databaseConnections: databaseGroup,
    });
    const test = new DmsConnectionTest(stack, 'Test', { endpoint: source, replicationInstance: instance });
    const template = Template.fromStack(stack);
    const databaseId = stack.getLogicalId(databaseGroup.node.defaultChild as ec2.CfnSecurityGroup);
    const replicationId = stack.getLogicalId(replicationGroup.node.defaultChild as ec2.CfnSecurityGroup);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetAtt': [databaseId, 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [replicationId, 'GroupId'] },
      FromPort: 5433,
      ToPort: 5433,
      IpProtocol: 'tcp',
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: { 'Fn::GetAtt': [replicationId, 'GroupId'] },
      DestinationSecurityGroupId: { 'Fn::GetAtt': [databaseId, 'GroupId'] },
      FromPort: 5433,
    });
    const resource = template.toJSON().Resources[stack.getLogicalId(test.resource.node.defaultChild as any)];
    const ingressId = Object.keys(template.findResources('AWS::EC2::SecurityGroupIngress'))[0];
    const egressId = Object.keys(template.findResources('AWS::EC2::SecurityGroupEgress'))[0];
    expect(resource.DependsOn).toEqual(expect.arrayContaining([ingressId, egressId]));
    // the handler learns which endpoint is the source, and its database's groups, for its hints
    expect(resource.Properties.Sources).toEqual([{ EndpointArn: ENDPOINT_ARN, Port: '5433', SecurityGroupIds: [{ 'Fn::GetAtt': [databaseId, 'GroupId'] }] }]);
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('sourceDatabaseNotOpened'));
  });

  test('a source that does not know its database: a warning names the endpoint, the port and the fix', () => {
    const { stack, instance } = placed();
    new DmsConnectionTest(stack, 'Test', { endpoint: rawEndpoint(stack), replicationInstance: instance });
    Template.fromStack(stack).resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    Annotations.fromStack(stack).hasWarning('/S/Test', Match.stringLikeRegexp(
      "The source endpoint 'SOURCEPG' does not know its database's security groups, so the replication compute cannot be let in on port 5432 from here.*databaseConnections.*\\[ack: cdk-neon-migration:sourceDatabaseNotOpened\\]"));
  });

  test('a target is neither opened nor warned about: Neon is reached over the internet', () => {
    const { stack, instance } = placed();
    const neon = NeonTargetEndpoint.fromEndpointArn(stack, 'Neon', 'arn:aws:dms:us-east-2:123456789012:endpoint:NEON');
    const test = new DmsConnectionTest(stack, 'Test', { endpoint: neon, replicationInstance: instance });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    expect(template.toJSON().Resources[stack.getLogicalId(test.resource.node.defaultChild as any)].Properties.Sources).toBeUndefined();
    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
  });
});

test('schema and cdk-nag clean', () => {
  const build = (app: App, env?: Environment) => {
    const stack = new Stack(app, 'S', { env });
    const endpoint = new TestEndpoint(stack, 'Source');
    const instance = new dms.CfnReplicationInstance(stack, 'Instance', { replicationInstanceClass: 'dms.t3.micro', publiclyAccessible: false });
    new DmsConnectionTest(stack, 'Test', { endpoints: [endpoint, new TestEndpoint(stack, 'Target')], replicationInstance: instanceWithArn(stack, instance.ref, 'Imported') });
    new DmsConnectionTest(stack, 'RawTest', { endpoint: rawEndpoint(stack), replicationInstance: instanceWithArn(stack, INSTANCE_ARN, 'Literal') });
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
