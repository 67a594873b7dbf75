import { App, CfnParameter, Stack, aws_dms as dms } from 'aws-cdk-lib';
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

function testStatements(template: Template, stack: Stack, test: DmsConnectionTest): unknown[] {
  const policyId = stack.getLogicalId(test.node.findChild('Permissions').node.defaultChild as any);
  return template.toJSON().Resources[policyId].Properties.PolicyDocument.Statement;
}

test('tests an IDmsEndpoint from a replication instance, with permissions scoped to both ARNs', () => {
  const stack = newStack();
  const endpoint = new TestEndpoint(stack, 'Source');
  const test = new DmsConnectionTest(stack, 'Test', { endpoint, replicationInstanceArn: INSTANCE_ARN });
  const template = Template.fromStack(stack);
  const endpointId = stack.getLogicalId(endpoint.resource);

  template.hasResourceProperties('Custom::DmsConnectionTest', {
    EndpointArn: { Ref: endpointId },
    ReplicationInstanceArn: INSTANCE_ARN,
  });
  expect(testStatements(template, stack, test)).toEqual([
    { Action: 'dms:TestConnection', Effect: 'Allow', Resource: [{ Ref: endpointId }, INSTANCE_ARN] },
    { Action: 'dms:DescribeConnections', Effect: 'Allow', Resource: '*' },
  ]);
  const policyId = stack.getLogicalId(test.node.findChild('Permissions').node.defaultChild as any);
  template.hasResourceProperties('AWS::IAM::Policy', {
    Roles: [{ Ref: Match.stringLikeRegexp('^NeonDmsMigrationProviderHandlerRole') }],
    PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'dms:TestConnection' })]) },
  });
  const resource = template.toJSON().Resources[stack.getLogicalId(test.resource.node.defaultChild as any)];
  expect(resource.DependsOn).toEqual(expect.arrayContaining([policyId, endpointId]));
  expect(test.endpointArn).toBe(endpoint.endpointArn);
  expect(test.replicationInstanceArn).toBe(INSTANCE_ARN);
});

test('tests a raw endpoint ARN', () => {
  const stack = newStack();
  new DmsConnectionTest(stack, 'Test', { endpointArn: ENDPOINT_ARN, replicationInstanceArn: INSTANCE_ARN });
  Template.fromStack(stack).hasResourceProperties('Custom::DmsConnectionTest', {
    EndpointArn: ENDPOINT_ARN,
    ReplicationInstanceArn: INSTANCE_ARN,
  });
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
  expect(() => new DmsConnectionTest(stack, 'Test', { endpointArn, replicationInstanceArn: instance.ref })).not.toThrow();
  Template.fromStack(stack).hasResourceProperties('Custom::DmsConnectionTest', {
    EndpointArn: { Ref: 'EndpointArn' },
    ReplicationInstanceArn: { Ref: stack.getLogicalId(instance) },
  });
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
    [{ replicationInstanceArn: INSTANCE_ARN }, 'DmsConnectionTest: set endpoint (an IDmsEndpoint) or endpointArn (the ARN of any DMS endpoint).'],
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
});

test('schema and cdk-nag clean', () => {
  const stack = newStack();
  const endpoint = new TestEndpoint(stack, 'Source');
  new DmsConnectionTest(stack, 'Test', { endpoint, replicationInstanceArn: INSTANCE_ARN });
  expectValidCloudFormation(stack);
  expectNagClean(stack, [
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    'AwsSolutions-IAM5[Resource::<NeonDmsMigrationProviderOnEvent4471F7DC.Arn>:*]',
    'AwsSolutions-IAM5[Resource::<NeonDmsMigrationProviderIsComplete481BE9D2.Arn>:*]',
    'AwsSolutions-IAM5[Resource::<NeonDmsMigrationProviderframeworkisComplete197DB1EB.Arn>:*]',
    'AwsSolutions-IAM5[Resource::<NeonDmsMigrationProviderframeworkonTimeout8FD6857C.Arn>:*]',
  ].map(id => ({ id, reason: 'Provider framework internals of the shared custom-resource provider.', pathPattern: '^S/NeonDmsMigrationProvider/Provider/' })));
});
