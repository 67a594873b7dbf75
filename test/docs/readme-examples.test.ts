import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { readDoc, sectionCode } from './doc-files';
import { exampleWorld, runExample } from './run-example';

/*
 * The README's whole examples run as written: the complete live migration (and the Quick start for a
 * new VPC) extracted from README.md, given a VPC and an RDS for PostgreSQL database, synthesized, and
 * the template checked for what the page says it builds.
 */

const README = readDoc('README.md');
const LIVE = '## A complete live migration (CDC)';
const NEW_VPC = '### No VPC yet: a new one';

function synthesize(heading: string) {
  const world = exampleWorld();
  runExample(sectionCode(README, heading), world);
  return { template: Template.fromStack(world.stack), annotations: Annotations.fromStack(world.stack) };
}

describe(`README "${LIVE}"`, () => {
  let template: Template;
  let annotations: Annotations;
  beforeAll(() => {
    ({ template, annotations } = synthesize(LIVE));
  });

  test('the task is a full load and CDC, on a replication instance, started once both connections were tested', () => {
    template.resourceCountIs('AWS::DMS::ReplicationTask', 1);
    template.hasResourceProperties('AWS::DMS::ReplicationTask', { MigrationType: 'full-load-and-cdc' });
    template.resourceCountIs('AWS::DMS::ReplicationInstance', 1);
    const lifecycles = Object.values(template.findResources('Custom::DmsTaskLifecycle'));
    expect(lifecycles).toHaveLength(1);
    expect(lifecycles[0].Properties).toMatchObject({ WaitForCompletion: 'true', MigrationType: 'full-load-and-cdc' });
    expect(lifecycles[0].Properties.TestEndpointArns).toHaveLength(2);
  });

  test('the source is RDS, the target Neon from its secret; the network adds no NAT gateway or route to the VPC', () => {
    template.resourceCountIs('AWS::DMS::Endpoint', 2);
    template.hasResourceProperties('AWS::DMS::Endpoint', { EndpointType: 'source', EngineName: 'postgres', SslMode: 'require' });
    template.hasResourceProperties('AWS::DMS::Endpoint', { EndpointType: 'target', EngineName: 'postgres', SslMode: 'require' });
    template.resourceCountIs('Custom::NeonDmsCredentials', 1);
    // the VPC's own two NAT gateways and their routes, nothing more
    template.resourceCountIs('AWS::EC2::NatGateway', 2);
    template.resourceCountIs('AWS::EC2::Route', 4);
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
  });

  test('the schema copy, the preflight with the target\'s capacity, the assessment and the verification are there', () => {
    template.resourceCountIs('Custom::NeonSchemaCopy', 2); // pre before the load, indexes after it (the rest with cutover: true)
    template.hasResourceProperties('Custom::NeonMigrationPreflight', {
      MigrationType: 'full-load-and-cdc',
      TargetCapacity: Match.objectLike({ MaxFullLoadSubTasks: Match.anyValue() }),
    });
    template.resourceCountIs('Custom::DmsPremigrationAssessment', 1);
    template.hasResourceProperties('Custom::NeonMigrationVerification', { RecheckTaskResourceId: Match.anyValue(), RecheckRounds: '3' });
  });

  test('the live-migration safeguards: Neon compute kept awake, the replication slot dropped afterwards', () => {
    template.hasResourceProperties('Custom::NeonComputeKeepAlive', { ProjectId: 'crimson-sun-12345678' });
    template.resourceCountIs('Custom::NeonReplicationSlotCleanup', 1);
  });

  test('monitoring: the task\'s and the source\'s alarms on an encrypted topic with a subscription, and a dashboard', () => {
    for (const metric of ['CDCLatencySource', 'CDCLatencyTarget', 'OldestReplicationSlotLag', 'TransactionLogsDiskUsage', 'ReplicationSlotDiskUsage']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: metric });
    }
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'dba@example.com' });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  test('the cutover: a role with the three read actions and its ARN as outputs; the task outputs the command, its ARN and both secrets', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Action: ['dms:DescribeReplicationTasks', 'dms:DescribeReplicationInstances', 'cloudwatch:GetMetricData'],
          Resource: '*',
        })]),
      },
    });
    template.hasOutput('CutoverRoleArn', {});
    // what the comment and the text after the example name, declared by the task
    const outputs = template.toJSON().Outputs;
    for (const name of /outputs the command to run, its ARN and\n\/\/ both secrets' ARNs: ([^)]+)\)/.exec(README)![1].split(', ')) expect(outputs).toHaveProperty(name);
    expect(JSON.stringify(outputs.MigrationCutoverCommand.Value)).toContain('npx cdk-neon-migration cutover --task-arn ');
    expect(outputs.MigrationCutoverCommand.Value['Fn::Join'][1][1]).toEqual(outputs.MigrationTaskArn.Value);
    expect(Object.keys(outputs).filter((id) => /Cutover/.test(id)).sort()).toEqual(['CutoverRoleArn', 'MigrationCutoverCommand']);
  });

  test('no warning: every safeguard the synth would ask for is there', () => {
    expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
    expect(annotations.findError('*', Match.anyValue())).toEqual([]);
  });
});

describe(`README "${NEW_VPC}"`, () => {
  test('builds a VPC with one NAT gateway and a Secrets Manager endpoint, the database in it, and the migration', () => {
    const { template, annotations } = synthesize(NEW_VPC);
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 1);
    expect(JSON.stringify(template.findResources('AWS::EC2::VPCEndpoint'))).toContain('.secretsmanager');
    template.resourceCountIs('AWS::RDS::DBInstance', 1);
    template.hasResourceProperties('AWS::DMS::ReplicationTask', { MigrationType: 'full-load' });
    template.resourceCountIs('Custom::NeonMigrationVerification', 1);
    expect(annotations.findError('*', Match.anyValue())).toEqual([]);
  });
});
