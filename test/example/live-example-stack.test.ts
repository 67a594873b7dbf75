import { App, Environment } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { ApplicationStack, LiveMigrationStack, liveExampleSettingsFromContext } from '../../lib/example/live-example-stack';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

/*
 * The live-migration example: an application stack as a team has it (a VPC whose private subnets
 * reach the internet through NAT gateways, an RDS for PostgreSQL database in them) and the migration
 * stack added next to it.
 */
function build(app: App = new App(), env?: Environment) {
  const settings = liveExampleSettingsFromContext(app);
  const application = new ApplicationStack(app, 'Application', { sampleSize: settings.sampleSize, env });
  const migration = new LiveMigrationStack(app, 'Migration', { vpc: application.vpc, database: application.database, settings, env });
  return { app, application, migration };
}

describe('the live-migration example', () => {
  const { application, migration } = build();
  const template = Template.fromStack(migration);
  const resources = template.toJSON().Resources;

  test('a live migration with every safeguard: schema copy, preflight with capacity, assessment, Neon compute kept awake, slot cleanup, verification', () => {
    const task = Object.values<any>(template.findResources('AWS::DMS::ReplicationTask'))[0];
    expect(task.Properties.MigrationType).toBe('full-load-and-cdc');
    for (const type of ['Custom::NeonSchemaCopy', 'Custom::DmsPremigrationAssessment', 'Custom::NeonComputeKeepAlive',
      'Custom::NeonReplicationSlotCleanup', 'Custom::NeonMigrationPreflight', 'Custom::NeonMigrationVerification']) {
      expect([type, Object.keys(template.findResources(type)).length > 0]).toEqual([type, true]);
    }
    template.hasResourceProperties('Custom::NeonMigrationPreflight', { TargetCapacity: Match.objectLike({}) });
    // the verification re-checks differences after the task's latency
    template.hasResourceProperties('Custom::NeonMigrationVerification', { RecheckRounds: '3' });
    // the source's WAL and the task watched
    const alarms = Object.values<any>(template.findResources('AWS::CloudWatch::Alarm')).map(a => a.Properties.MetricName ?? 'math');
    expect(alarms).toEqual(expect.arrayContaining(['OldestReplicationSlotLag', 'CDCLatencyTarget', 'FreeStorageSpace']));
  });

  test('the cutover: a role with exactly the three read actions, and the command as an output', () => {
    const policies = Object.values<any>(template.findResources('AWS::IAM::Policy'))
      .filter(p => p.Properties.Roles.some((r: any) => r.Ref === migration.getLogicalId(migration.cutoverRole.node.defaultChild as any)));
    expect(policies.flatMap(p => p.Properties.PolicyDocument.Statement.map((s: any) => s.Action)).flat().sort())
      .toEqual(['cloudwatch:GetMetricData', 'dms:DescribeReplicationInstances', 'dms:DescribeReplicationTasks']);
    // the task's own output: the command for this task
    expect(template.findOutputs('MigrationCutoverCommand').MigrationCutoverCommand.Value)
      .toEqual({ 'Fn::Join': ['', ['npx cdk-neon-migration cutover --task-arn ', { Ref: migration.getLogicalId(migration.migration.replicationTask!) }]] });
  });

  test('nothing is added to the application\'s VPC but a security group, and its database\'s ingress rule lives in the migration stack', () => {
    const types = new Set(Object.values<any>(resources).map(r => r.Type));
    for (const type of ['AWS::EC2::NatGateway', 'AWS::EC2::Route', 'AWS::EC2::Subnet', 'AWS::EC2::VPCEndpoint', 'AWS::EC2::RouteTable']) {
      expect([type, types.has(type)]).toEqual([type, false]);
    }
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: 5432, GroupId: { 'Fn::ImportValue': Match.anyValue() } });
  });

  test('the application stack\'s resources are the same with and without the migration next to it', () => {
    const alone = new App();
    const settings = liveExampleSettingsFromContext(alone);
    const before = Template.fromStack(new ApplicationStack(alone, 'Application', { sampleSize: settings.sampleSize })).toJSON().Resources;
    expect(Template.fromStack(application).toJSON().Resources).toEqual(before);
  });

  test('no warning: the safeguards the README recommends are all there', () => {
    expect(Annotations.fromStack(migration).findWarning('*', Match.anyValue())).toEqual([]);
  });

  test('both stacks pass the CloudFormation schema check and cdk-nag in both environments', () => {
    expectValidCloudFormation(application);
    expectValidCloudFormation(migration);
    expectNagClean((app, env) => build(app, env).migration);
    expectNagClean((app, env) => build(app, env).application);
  });
});
