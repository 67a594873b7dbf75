import { App, CfnParameter, CfnResource, Duration, Environment, Size, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  IMonitoredMigration,
  MigrationAlarms,
  MigrationAlarmsProps,
  MigrationNotificationTopic,
  MonitoredMigration,
  TaskEventNotification,
} from '../../lib/monitoring';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

const TASK_ARN = 'arn:aws:dms:us-east-1:123456789012:task:ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const MIGRATION = MonitoredMigration.fromAttributes({
  taskArn: TASK_ARN,
  taskIdentifier: 'orders-task',
  replicationInstanceIdentifier: 'rep-instance-1',
});
const TASK_DIMENSIONS = [
  { Name: 'ReplicationInstanceIdentifier', Value: 'rep-instance-1' },
  { Name: 'ReplicationTaskIdentifier', Value: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' },
];
const PUBLISHERS = ['cloudwatch.amazonaws.com', 'events.amazonaws.com', 'dms.amazonaws.com'];

function synth(props: Partial<MigrationAlarmsProps> = {}, migration: IMonitoredMigration = MIGRATION, app = new App(), env?: Environment) {
  const stack = new Stack(app, 'S', { env });
  const alarms = new MigrationAlarms(stack, 'Alarms', { migration, ...props });
  return { stack, alarms, template: Template.fromStack(stack) };
}

function topicPolicyStatements(template: Template): any[] {
  const policies = Object.values(template.findResources('AWS::SNS::TopicPolicy'));
  expect(policies).toHaveLength(1);
  return policies[0].Properties.PolicyDocument.Statement;
}

describe('notification topic', () => {
  test('a new topic is encrypted with a rotating customer-managed key the publishers may use', () => {
    const { template } = synth();
    template.resourceCountIs('AWS::SNS::Topic', 1);
    const keys = template.findResources('AWS::KMS::Key');
    const [keyId] = Object.keys(keys);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: PUBLISHERS },
            Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
          }),
        ]),
      },
    });
  });

  test('the topic policy denies publishing without TLS', () => {
    const { template } = synth();
    expect(topicPolicyStatements(template)).toContainEqual(expect.objectContaining({
      Effect: 'Deny',
      Principal: '*',
      Action: 'sns:Publish',
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    }));
  });

  test('only CloudWatch, EventBridge and DMS may publish, each limited to its sources', () => {
    const { template } = synth({ taskEvents: TaskEventNotification.BOTH });
    const allows = topicPolicyStatements(template).filter((s) => s.Effect === 'Allow');
    expect(allows.map((s) => s.Principal)).toEqual(PUBLISHERS.map((service) => ({ Service: service })));
    for (const statement of allows) {
      expect(statement.Action).toBe('sns:Publish');
      const sourceArn = statement.Condition.ArnEquals?.['aws:SourceArn'] ?? statement.Condition.ArnLike?.['aws:SourceArn'];
      expect(sourceArn).toBeDefined();
    }

    const [cloudwatch, eventbridge, dms] = allows;
    const alarmIds = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));
    expect(cloudwatch.Condition).toEqual({
      ArnEquals: { 'aws:SourceArn': alarmIds.map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })) },
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
    });
    const [ruleId] = Object.keys(template.findResources('AWS::Events::Rule'));
    expect(eventbridge.Condition).toEqual({ ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } });
    expect(dms.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: {
        'aws:SourceArn': {
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':dms:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':es:*']],
        },
      },
    });
  });

  test('a given topic is used, and gets the publish statements', () => {
    const stack = new Stack(new App(), 'S');
    const notifications = new MigrationNotificationTopic(stack, 'Shared', { topicName: 'migrations' });
    new MigrationAlarms(stack, 'A', { migration: MIGRATION, notificationTopic: notifications.topic });
    new MigrationAlarms(stack, 'B', {
      migration: MonitoredMigration.fromAttributes({ ...attrs(MIGRATION), taskIdentifier: 'other' }),
      notificationTopic: notifications.topic,
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::SNS::Topic', { TopicName: 'migrations' });
    const allows = topicPolicyStatements(template).filter((s) => s.Effect === 'Allow');
    // one CloudWatch and one EventBridge statement per MigrationAlarms
    expect(allows.map((s) => s.Principal.Service)).toEqual([
      'cloudwatch.amazonaws.com', 'events.amazonaws.com', 'cloudwatch.amazonaws.com', 'events.amazonaws.com',
    ]);
    template.allResourcesProperties('AWS::CloudWatch::Alarm', { AlarmActions: [{ Ref: stack.getLogicalId(notifications.topic.node.defaultChild as sns.CfnTopic) }] });
  });

  test('an imported topic cannot be given a policy: a warning says what to allow', () => {
    const stack = new Stack(new App(), 'S');
    const topic = sns.Topic.fromTopicArn(stack, 'Imported', 'arn:aws:sns:us-east-1:123456789012:ops');
    new MigrationAlarms(stack, 'A', { migration: MIGRATION, notificationTopic: topic });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SNS::TopicPolicy', 0);
    template.allResourcesProperties('AWS::CloudWatch::Alarm', { AlarmActions: ['arn:aws:sns:us-east-1:123456789012:ops'] });
    Annotations.fromStack(stack).hasWarning('/S/A', Match.stringLikeRegexp(
      'notificationTopic is imported, so its access policy cannot be changed here: allow cloudwatch.amazonaws.com, events.amazonaws.com and dms.amazonaws.com to sns:Publish',
    ));
  });
});

describe('alarms', () => {
  test('CDC latency alarms: above 300 s on average for 3 of 3 five-minute periods, notifying the topic', () => {
    const { template } = synth();
    template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    const [topicId] = Object.keys(template.findResources('AWS::SNS::Topic'));
    for (const metricName of ['CDCLatencySource', 'CDCLatencyTarget']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/DMS',
        MetricName: metricName,
        Dimensions: TASK_DIMENSIONS,
        Statistic: 'Average',
        Period: 300,
        Threshold: 300,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: topicId }],
        AlarmDescription: Match.stringLikeRegexp('DMS task orders-task: .* 300 s .*dms-tasks-rep-instance-1'),
      });
    }
  });

  test('free storage alarm: 5-minute minimum below 10 GiB; CPU alarm: above 90 % for 3 periods', () => {
    const { template } = synth();
    const [topicId] = Object.keys(template.findResources('AWS::SNS::Topic'));
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'FreeStorageSpace',
      Dimensions: [{ Name: 'ReplicationInstanceIdentifier', Value: 'rep-instance-1' }],
      Statistic: 'Minimum',
      Period: 300,
      Threshold: 10 * 1024 ** 3,
      EvaluationPeriods: 1,
      ComparisonOperator: 'LessThanThreshold',
      AlarmActions: [{ Ref: topicId }],
      AlarmDescription: Match.stringLikeRegexp('free storage is below 10 GiB\\. Increase its allocated storage'),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'CPUUtilization',
      Dimensions: [{ Name: 'ReplicationInstanceIdentifier', Value: 'rep-instance-1' }],
      Statistic: 'Average',
      Threshold: 90,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: topicId }],
    });
  });

  test('thresholds, periods and names are configurable', () => {
    const { template, alarms } = synth({
      cdcLatencyThreshold: Duration.minutes(10),
      cdcLatencyEvaluationPeriods: 6,
      freeStorageThreshold: Size.gibibytes(25),
      allocatedStorage: Size.gibibytes(100),
      cpuUtilizationThresholdPercent: 75,
      alarmNamePrefix: 'orders',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'orders-cdc-latency-target', MetricName: 'CDCLatencyTarget', Threshold: 600, EvaluationPeriods: 6, DatapointsToAlarm: 6,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'orders-cdc-latency-source', MetricName: 'CDCLatencySource', Threshold: 600, EvaluationPeriods: 6,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'orders-free-storage', MetricName: 'FreeStorageSpace', Threshold: 25 * 1024 ** 3,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'orders-cpu-utilization', Threshold: 75 });
    expect(alarms.alarms).toHaveLength(4);
  });

  test('a token task ARN gives Fn::Select dimensions and a Ref in the rule', () => {
    const stack = new Stack(new App(), 'S');
    const arn = new CfnParameter(stack, 'TaskArn').valueAsString;
    new MigrationAlarms(stack, 'A', {
      migration: MonitoredMigration.fromAttributes({ taskArn: arn, taskIdentifier: 'orders-task', replicationInstanceIdentifier: 'rep-instance-1' }),
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'CDCLatencyTarget',
      Dimensions: [
        { Name: 'ReplicationInstanceIdentifier', Value: 'rep-instance-1' },
        { Name: 'ReplicationTaskIdentifier', Value: { 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: 'TaskArn' }] }] } },
      ],
    });
    template.hasResourceProperties('AWS::Events::Rule', { EventPattern: Match.objectLike({ resources: [{ Ref: 'TaskArn' }] }) });
  });
});

describe('task failures', () => {
  test('an EventBridge rule forwards failures and error stops of this task to the topic', () => {
    const { template } = synth();
    template.resourceCountIs('AWS::DMS::EventSubscription', 0);
    const [topicId] = Object.keys(template.findResources('AWS::SNS::Topic'));
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.dms'],
        'detail-type': ['DMS Replication Task State Change'],
        'resources': [TASK_ARN],
        'detail': {
          $or: [
            { eventType: ['REPLICATION_TASK_FAILED'] },
            {
              eventType: ['REPLICATION_TASK_STOPPED'],
              detailMessage: [
                { wildcard: '*ERROR*' }, { wildcard: '*Error*' }, { wildcard: '*error*' },
                { wildcard: '*LOW_MEMORY*' }, { wildcard: '*LOW_DISK*' },
              ],
            },
          ],
        },
      },
      State: 'ENABLED',
      Targets: [{
        Arn: { Ref: topicId },
        Id: 'Target0',
        InputTransformer: {
          InputPathsMap: {
            'detail-eventType': '$.detail.eventType',
            'detail-detailMessage': '$.detail.detailMessage',
            'detail-resourceLink': '$.detail.resourceLink',
          },
          InputTemplate: Match.stringLikeRegexp('AWS DMS replication task orders-task: <detail-eventType> - <detail-detailMessage>\\. Open <detail-resourceLink>'),
        },
      }],
    });
  });

  test('a DMS event subscription on the task identifier, created after the topic policy', () => {
    const { template } = synth({ taskEvents: TaskEventNotification.EVENT_SUBSCRIPTION });
    template.resourceCountIs('AWS::Events::Rule', 0);
    const [topicId] = Object.keys(template.findResources('AWS::SNS::Topic'));
    const [policyId] = Object.keys(template.findResources('AWS::SNS::TopicPolicy'));
    template.hasResource('AWS::DMS::EventSubscription', {
      Properties: {
        SnsTopicArn: { Ref: topicId },
        SourceType: 'replication-task',
        SourceIds: ['orders-task'],
        EventCategories: ['failure', 'state change'],
        Enabled: true,
        SubscriptionName: Match.stringLikeRegexp('^S-Alarms-'),
      },
      DependsOn: [policyId],
    });
    const allows = topicPolicyStatements(template).filter((s) => s.Effect === 'Allow');
    expect(allows.map((s) => s.Principal.Service)).toEqual(['cloudwatch.amazonaws.com', 'dms.amazonaws.com']);
  });

  test('the subscription waits for a task resource of the same app', () => {
    const stack = new Stack(new App(), 'S');
    const task = new FakeTask(stack, 'Task');
    new MigrationAlarms(stack, 'A', { migration: task, taskEvents: TaskEventNotification.EVENT_SUBSCRIPTION });
    const template = Template.fromStack(stack);
    const [subscription] = Object.values(template.findResources('AWS::DMS::EventSubscription'));
    expect(subscription.DependsOn).toContain(stack.getLogicalId(task.node.defaultChild as CfnResource));
    expect(subscription.Properties.SourceIds).toEqual(['fake-task']);
  });

  test('NONE creates neither rule nor subscription, BOTH creates both', () => {
    const none = synth({ taskEvents: TaskEventNotification.NONE }).template;
    none.resourceCountIs('AWS::Events::Rule', 0);
    none.resourceCountIs('AWS::DMS::EventSubscription', 0);
    const both = synth({ taskEvents: TaskEventNotification.BOTH }).template;
    both.resourceCountIs('AWS::Events::Rule', 1);
    both.resourceCountIs('AWS::DMS::EventSubscription', 1);
  });
});

describe('validation', () => {
  test.each([
    [{ cdcLatencyThreshold: Duration.millis(500) }, /cdcLatencyThreshold must be at least 1 second, got 500 millis/],
    [{ cdcLatencyEvaluationPeriods: 0 }, /cdcLatencyEvaluationPeriods must be a whole number of at least 1, got 0/],
    [{ cdcLatencyEvaluationPeriods: 1.5 }, /cdcLatencyEvaluationPeriods must be a whole number of at least 1, got 1.5/],
    [{ freeStorageThreshold: Size.bytes(0) }, /freeStorageThreshold must be larger than 0, e\.g\. Size\.gibibytes\(10\)/],
    [
      { freeStorageThreshold: Size.gibibytes(50), allocatedStorage: Size.gibibytes(50) },
      /freeStorageThreshold \(50 GiB\) must be smaller than allocatedStorage \(50 GiB\), or the alarm is always on: lower the threshold/,
    ],
    [{ cpuUtilizationThresholdPercent: 100 }, /cpuUtilizationThresholdPercent must be between 0 and 100 \(exclusive\), got 100/],
  ] as [Partial<MigrationAlarmsProps>, RegExp][])('%o is rejected', (props, message) => {
    expect(() => synth(props)).toThrow(message);
  });

  test('a task ARN that is not one is rejected', () => {
    expect(() => synth({}, MonitoredMigration.fromAttributes({ ...attrs(MIGRATION), taskArn: 'orders-task' })))
      .toThrow(/taskArn must be the ARN of a DMS replication task/);
  });

  test('token values are not validated', () => {
    const stack = new Stack(new App(), 'S');
    const periods = new CfnParameter(stack, 'Periods', { type: 'Number' }).valueAsNumber;
    const cpu = new CfnParameter(stack, 'Cpu', { type: 'Number' }).valueAsNumber;
    const seconds = new CfnParameter(stack, 'Seconds', { type: 'Number' }).valueAsNumber;
    expect(() => new MigrationAlarms(stack, 'A', {
      migration: MIGRATION,
      cdcLatencyThreshold: Duration.seconds(seconds),
      cdcLatencyEvaluationPeriods: periods,
      cpuUtilizationThresholdPercent: cpu,
    })).not.toThrow();
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'CDCLatencyTarget', Threshold: { Ref: 'Seconds' }, EvaluationPeriods: { Ref: 'Periods' },
    });
  });
});

describe('compliance', () => {
  test.each([TaskEventNotification.EVENTBRIDGE, TaskEventNotification.BOTH])('valid CloudFormation and cdk-nag clean (%s)', (taskEvents) => {
    const { stack } = synth({ taskEvents });
    expectValidCloudFormation(stack);
    expectNagClean((app, env) => synth({ taskEvents }, MIGRATION, app, env).stack);
  });
});

function attrs(m: IMonitoredMigration) {
  return { taskArn: m.taskArn, taskIdentifier: m.taskIdentifier, replicationInstanceIdentifier: m.replicationInstanceIdentifier };
}

/** A construct shaped like a DmsMigrationTask: a replication task as its default child. */
class FakeTask extends Construct implements IMonitoredMigration {
  public readonly taskArn: string;
  public readonly taskIdentifier = 'fake-task';
  public readonly replicationInstanceIdentifier = 'rep-instance-1';

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const resource = new CfnResource(this, 'Resource', { type: 'AWS::DMS::ReplicationTask' });
    this.taskArn = resource.ref;
  }
}
