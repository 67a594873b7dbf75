import { App, Duration, Environment, Stack, Token } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { ServerlessReplicationLifecycle } from '../../lib/lifecycle';
import { MigrationProvider } from '../../lib/provider/provider';
import { ReplicationType, ServerlessReplication } from '../../lib/replication';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

const MAPPINGS = JSON.stringify({
  rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'all', 'object-locator': { 'schema-name': 'public', 'table-name': '%' }, 'rule-action': 'include' }],
});

function setup(identifier: string = 'neon-migration', app = new App(), env?: Environment) {
  const stack = new Stack(app, 'S', { env });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'i', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  const replication = new ServerlessReplication(stack, 'Replication', {
    vpc,
    maxCapacityUnits: 8,
    sourceEndpointArn: 'arn:aws:dms:us-east-2:123456789012:endpoint:SOURCE',
    targetEndpointArn: 'arn:aws:dms:us-east-2:123456789012:endpoint:TARGET',
    replicationType: ReplicationType.CDC,
    tableMappings: MAPPINGS,
    replicationConfigIdentifier: identifier,
  });
  return { stack, replication };
}

describe('ServerlessReplicationLifecycle', () => {
  test('brackets a ServerlessReplication built on its own, through the shared provider', () => {
    const { stack, replication } = setup('Neon-Migration');
    const lifecycle = new ServerlessReplicationLifecycle(stack, 'Lifecycle', { replicationConfig: replication.resource });
    const template = Template.fromStack(stack);
    expect(lifecycle.replicationConfigIdentifier).toBe('neon-migration');
    template.resourceCountIs('Custom::DmsServerlessLifecycle', 2);
    const token = stack.resolve(MigrationProvider.of(stack).serviceToken);
    template.hasResourceProperties('Custom::DmsServerlessLifecycle', { ServiceToken: token, Role: 'Stopper', ReplicationConfigIdentifier: 'neon-migration' });
    template.hasResourceProperties('Custom::DmsServerlessLifecycle', {
      ServiceToken: token, Role: 'Lifecycle', ReplicationType: 'cdc', OnUpdate: 'resume-processing', CdcStopPosition: Match.absent(),
    });
    expect(template.toJSON().Resources[stack.getLogicalId(replication.resource)].DependsOn)
      .toContain(stack.getLogicalId(lifecycle.stopper.node.defaultChild as any));
    expect(stack.resolve(lifecycle.status)).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(lifecycle.resource.node.defaultChild as any), 'Status'] });
    expectValidCloudFormation(stack);
    expectNagClean((app, env) => {
      const built = setup('Neon-Migration', app, env);
      new ServerlessReplicationLifecycle(built.stack, 'Lifecycle', { replicationConfig: built.replication.resource });
      return built.stack;
    }, ['AwsSolutions-VPC7', 'NIST.800.53.R5-VPCDefaultSecurityGroupClosed', 'NIST.800.53.R5-VPCFlowLogsEnabled'].map(id => ({
      id, reason: 'The test VPC only stands in for the user\'s network.', pathPattern: '^S/Vpc',
    })));
  });

  test('the identifier must be set, and resolve to a literal at synth', () => {
    const { stack, replication } = setup();
    (replication.resource as { replicationConfigIdentifier?: string }).replicationConfigIdentifier = undefined;
    expect(() => new ServerlessReplicationLifecycle(stack, 'Lifecycle', { replicationConfig: replication.resource })).toThrow(
      'ServerlessReplicationLifecycle: replicationConfig.replicationConfigIdentifier must be a literal string (e.g. \'neon-migration\'): the stop before an update finds the replication by its identifier.');
    const other = setup();
    other.replication.resource.replicationConfigIdentifier = Token.asString({ Ref: 'AWS::StackName' });
    new ServerlessReplicationLifecycle(other.stack, 'Lifecycle', { replicationConfig: other.replication.resource });
    expect(() => Template.fromStack(other.stack)).toThrow(/replicationConfigIdentifier must resolve to a literal string at synth/);
  });

  test.each([[Duration.seconds(30), 30], [Duration.minutes(706), 42360]])('maxWait %s is refused', (maxWait, seconds) => {
    const { stack, replication } = setup();
    expect(() => new ServerlessReplicationLifecycle(stack, 'Lifecycle', { replicationConfig: replication.resource, waitForCompletion: true, maxWait })).toThrow(
      `ServerlessReplicationLifecycle: maxWait is ${seconds} seconds; use between 1 minute and 11 hours 45 minutes: CloudFormation waits at most 12 hours for a wait condition. The full load continues after the deployment.`);
  });

  test('maxWait without waitForCompletion is ignored with a warning', () => {
    const { stack, replication } = setup();
    new ServerlessReplicationLifecycle(stack, 'Lifecycle', { replicationConfig: replication.resource, maxWait: Duration.minutes(10) });
    Annotations.fromStack(stack).hasWarning('/S/Lifecycle', Match.stringLikeRegexp('maxWait only applies with waitForCompletion: true'));
  });
});
