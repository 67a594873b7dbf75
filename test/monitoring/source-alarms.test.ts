import { App, Size, Stack, Token } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as sns from 'aws-cdk-lib/aws-sns';
import { PostgresSourceAlarms } from '../../lib/monitoring/source-alarms';
import { PostgresSourceEndpoint } from '../../lib/sources/postgres';
import { SourceDatabase, SourceDatabaseKind } from '../../lib/sources/source-database';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';
import { gib, SOURCE_DATABASE_ACKNOWLEDGEMENTS, sourceSafetyStack } from '../live/source-safety-stack';

function alarm(template: Template, metricName: string): any {
  const found = Object.values(template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: metricName, Namespace: 'AWS/RDS' } }));
  expect(found).toHaveLength(1);
  return (found[0] as any).Properties;
}

describe('RDS for PostgreSQL source', () => {
  test('slot lag, WAL and spill usage, free storage: thresholds a share of the allocated storage, on the instance', () => {
    const { stack, database, template } = sourceSafetyStack({ allocatedStorage: 200 });
    const t = template();
    const instance = { Ref: stack.getLogicalId(database.node.defaultChild as rds.CfnDBInstance) };
    expect(alarm(t, 'OldestReplicationSlotLag')).toMatchObject({
      Dimensions: [{ Name: 'DBInstanceIdentifier', Value: instance }],
      Statistic: 'Maximum',
      Period: 300,
      Threshold: gib(20),
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(alarm(t, 'TransactionLogsDiskUsage')).toMatchObject({ Threshold: gib(40), ComparisonOperator: 'GreaterThanThreshold' });
    expect(alarm(t, 'ReplicationSlotDiskUsage')).toMatchObject({ Threshold: gib(10) });
    expect(alarm(t, 'FreeStorageSpace')).toMatchObject({
      Statistic: 'Minimum', Threshold: gib(20), EvaluationPeriods: 1, ComparisonOperator: 'LessThanThreshold',
    });
    expect(JSON.stringify(alarm(t, 'OldestReplicationSlotLag').AlarmDescription)).toMatch(/pg_replication_slots.*pg_drop_replication_slot/);
  });

  test('next to the task\'s alarms: the same topic, which CloudWatch may publish to for these alarms only', () => {
    const { stack, taskAlarms, sourceAlarms, template } = sourceSafetyStack();
    const t = template();
    expect(sourceAlarms.topic).toBe(taskAlarms.topic);
    const topic = { Ref: stack.getLogicalId(taskAlarms.topic.node.defaultChild as sns.CfnTopic) };
    for (const name of ['OldestReplicationSlotLag', 'TransactionLogsDiskUsage', 'ReplicationSlotDiskUsage', 'FreeStorageSpace']) {
      expect(alarm(t, name).AlarmActions).toEqual([topic]);
    }
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Condition: Match.objectLike({ ArnEquals: { 'aws:SourceArn': sourceAlarms.alarms.map((a) => ({ 'Fn::GetAtt': [stack.getLogicalId((a as any).node.defaultChild), 'Arn'] })) } }),
        })]),
      },
    });
    expect(sourceAlarms.alarms).toHaveLength(4);
  });

  test('the dashboard gets a row for the source, each graph with its alarm\'s threshold', () => {
    const { template } = sourceSafetyStack({ allocatedStorage: 100 });
    const body = JSON.stringify(template().findResources('AWS::CloudWatch::Dashboard'));
    for (const title of ['Oldest replication slot lag (bytes)', 'WAL disk usage (bytes)', 'Replication slot disk usage (bytes)', 'Free storage (bytes)', 'WAL written (bytes/s)', 'Source alarms']) {
      expect(body).toContain(title);
    }
    expect(body).toContain('TransactionLogsGeneration');
    // threshold lines: 10 GiB slot lag on a 100 GiB instance
    expect(body).toContain(String(gib(10)));
  });

  test('absolute defaults when the allocated storage is not known (an imported instance), explicit thresholds as given', () => {
    const stack = new Stack();
    const instance = rds.DatabaseInstance.fromDatabaseInstanceAttributes(stack, 'Imported', {
      instanceIdentifier: 'orders-db', instanceEndpointAddress: 'orders-db.x.rds.amazonaws.com', port: 5432, securityGroups: [],
    });
    new PostgresSourceAlarms(stack, 'A', { database: SourceDatabase.rdsInstance(instance) });
    new PostgresSourceAlarms(stack, 'B', { database: SourceDatabase.rdsInstance(instance, Size.gibibytes(50)), walDiskUsageThreshold: Size.gibibytes(7), alarmNamePrefix: 'orders' });
    const t = Template.fromStack(stack);
    const thresholds = (name: string) => Object.values(t.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: name } })).map((r: any) => r.Properties.Threshold);
    expect(thresholds('OldestReplicationSlotLag')).toEqual([gib(5), gib(5)]);
    expect(thresholds('TransactionLogsDiskUsage')).toEqual([gib(20), gib(7)]);
    expect(thresholds('FreeStorageSpace')).toEqual([gib(10), gib(5)]);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'orders-source-slot-lag', Dimensions: [{ Name: 'DBInstanceIdentifier', Value: 'orders-db' }] });
  });

  test('nag clean', () => {
    expectNagClean((a, env) => sourceSafetyStack({}, a, env).stack, SOURCE_DATABASE_ACKNOWLEDGEMENTS);
  });

  test('valid CloudFormation', () => {
    expectValidCloudFormation(sourceSafetyStack({ allocatedStorage: 100 }).stack);
  });
});

describe('Aurora PostgreSQL source', () => {
  test('the writer\'s WAL, spill and local storage (no slot-lag metric), by cluster and role', () => {
    const { stack, database, sourceAlarms, template } = sourceSafetyStack({ aurora: true });
    const t = template();
    expect(sourceAlarms.database.kind).toBe(SourceDatabaseKind.AURORA_CLUSTER);
    const cluster = { Ref: stack.getLogicalId(database.node.defaultChild as rds.CfnDBCluster) };
    const writer = [{ Name: 'DBClusterIdentifier', Value: cluster }, { Name: 'Role', Value: 'WRITER' }];
    expect(alarm(t, 'TransactionLogsDiskUsage')).toMatchObject({ Dimensions: writer, Threshold: gib(20) });
    expect(alarm(t, 'ReplicationSlotDiskUsage')).toMatchObject({ Dimensions: writer, Threshold: gib(5) });
    expect(alarm(t, 'FreeLocalStorage')).toMatchObject({ Dimensions: writer, Threshold: gib(5), Statistic: 'Minimum', ComparisonOperator: 'LessThanThreshold' });
    expect(t.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'OldestReplicationSlotLag' } })).toEqual({});
    expect(sourceAlarms.slotLagAlarm).toBeUndefined();
    expect(() => sourceAlarms.metricOldestReplicationSlotLag()).toThrow(/Aurora PostgreSQL does not publish it/);
    expect(JSON.stringify(t.findResources('AWS::CloudWatch::Dashboard'))).toContain('Free local storage (bytes)');
  });

  test('nag clean', () => {
    expectNagClean((a, env) => sourceSafetyStack({ aurora: true }, a, env).stack, SOURCE_DATABASE_ACKNOWLEDGEMENTS);
  });
});

describe('validation', () => {
  test('a threshold not below the allocated storage is refused, naming the property', () => {
    expect(() => sourceSafetyStack({ allocatedStorage: 50, alarms: { walDiskUsageThreshold: Size.gibibytes(50) } }))
      .toThrow(/walDiskUsageThreshold \(50 GiB\) must be smaller than the instance's allocated storage \(50 GiB\).*Lower it/);
    expect(() => sourceSafetyStack({ alarms: { freeStorageThreshold: Size.bytes(0) } })).toThrow(/freeStorageThreshold must be larger than 0/);
    expect(() => sourceSafetyStack({ alarms: { evaluationPeriods: 0 } })).toThrow(/evaluationPeriods must be a whole number of at least 1, got 0/);
    expect(() => sourceSafetyStack({ aurora: true, alarms: { slotLagThreshold: Size.gibibytes(1) } })).toThrow(/slotLagThreshold applies to RDS for PostgreSQL/);
  });

  test('tokens are not checked at synth', () => {
    const stack = new Stack();
    const instance = rds.DatabaseInstance.fromDatabaseInstanceAttributes(stack, 'Imported', {
      instanceIdentifier: 'db', instanceEndpointAddress: 'db.x', port: 5432, securityGroups: [],
    });
    expect(() => new PostgresSourceAlarms(stack, 'A', {
      database: SourceDatabase.rdsInstance(instance, Size.gibibytes(10)),
      walDiskUsageThreshold: Size.bytes(Token.asNumber({ Ref: 'Threshold' })),
      evaluationPeriods: Token.asNumber({ Ref: 'Periods' }),
    })).not.toThrow();
  });

  test('an endpoint that does not know its RDS database is refused with what to use instead', () => {
    const stack = new Stack(new App(), 'S');
    const endpoint = PostgresSourceEndpoint.fromEndpointArn(stack, 'E', 'arn:aws:dms:us-east-1:123456789012:endpoint:ABC');
    expect(() => SourceDatabase.fromEndpoint(endpoint)).toThrow(/does not know its RDS database: create it with PostgresSourceEndpoint.fromRdsInstance or fromRdsCluster/);
  });

  test('an imported topic gets a warning: its policy cannot admit CloudWatch from here', () => {
    const stack = new Stack();
    const instance = rds.DatabaseInstance.fromDatabaseInstanceAttributes(stack, 'Imported', {
      instanceIdentifier: 'db', instanceEndpointAddress: 'db.x', port: 5432, securityGroups: [],
    });
    const topic = sns.Topic.fromTopicArn(stack, 'T', 'arn:aws:sns:us-east-1:123456789012:alerts');
    new PostgresSourceAlarms(stack, 'A', { database: SourceDatabase.rdsInstance(instance), notificationTopic: topic });
    Annotations.fromStack(stack).hasWarning('/Default/A', Match.stringLikeRegexp('allow cloudwatch.amazonaws.com to sns:Publish'));
  });
});
