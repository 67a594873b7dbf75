import { App, CfnParameter, Duration, Environment, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { dashboardBody, DashboardWidget } from './dashboard-body';
import { MigrationAlarms, MigrationDashboard, MonitoredMigration } from '../../lib/monitoring';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

const ORDERS = MonitoredMigration.fromAttributes({
  taskArn: 'arn:aws:dms:us-east-1:123456789012:task:ORDERSRESOURCEID',
  taskIdentifier: 'orders-task',
  replicationInstanceIdentifier: 'Rep-Instance-1',
  displayName: 'Orders database',
});
const BILLING = MonitoredMigration.fromAttributes({
  taskArn: 'arn:aws:dms:us-east-1:123456789012:task:BILLINGRESOURCEID',
  taskIdentifier: 'billing-task',
  replicationInstanceIdentifier: 'rep-instance-1',
});

const MIGRATION_TITLES = [
  'Full load progress',
  'Full load throughput (rows/s)',
  'Full load bandwidth to target (KB/s)',
  'CDC latency (seconds)',
  'CDC backlog (changes)',
];
const INSTANCE_TITLES = [
  'Instance rep-instance-1: CPU (%)',
  'Instance rep-instance-1: freeable memory (bytes)',
  'Instance rep-instance-1: free storage (bytes)',
  'Instance rep-instance-1: swap (bytes)',
];

function newStack(): Stack {
  return new Stack(new App(), 'S');
}

function metricNames(widget: DashboardWidget): string[] {
  return (widget.properties.metrics ?? []).map((m) => `${m[0]}/${m[1]}`);
}

function widgetByTitle(widgets: DashboardWidget[], title: string): DashboardWidget {
  const found = widgets.filter((w) => w.properties.title === title);
  expect(found).toHaveLength(1);
  return found[0];
}

describe('MigrationDashboard', () => {
  test('the dashboard body is valid JSON once its tokens are joined', () => {
    const stack = newStack();
    new MigrationDashboard(stack, 'Dashboard', { migrations: [ORDERS] });
    const dashboards = Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard');
    const body = Object.values(dashboards)[0].Properties.DashboardBody;
    // the region is a token, so the body is an Fn::Join
    expect(body['Fn::Join']).toBeDefined();
    const parsed = dashboardBody(stack);
    expect(parsed.start).toBe('-PT12H');
    expect(Array.isArray(parsed.widgets)).toBe(true);
  });

  test('one migration: a header, progress, throughput, CDC and instance widgets', () => {
    const stack = newStack();
    new MigrationDashboard(stack, 'Dashboard', { migrations: [ORDERS] });
    const { widgets } = dashboardBody(stack);
    expect(widgets).toHaveLength(1 + MIGRATION_TITLES.length + INSTANCE_TITLES.length);
    expect(widgets[0].type).toBe('text');
    expect(widgets.slice(1).map((w) => w.properties.title)).toEqual([...MIGRATION_TITLES, ...INSTANCE_TITLES]);
    for (const widget of widgets) {
      expect(widget.x + widget.width).toBeLessThanOrEqual(24);
    }
  });

  test('the widgets hold the right metrics with the task resource id and the lowercased instance', () => {
    const stack = newStack();
    new MigrationDashboard(stack, 'Dashboard', { migrations: [ORDERS] });
    const { widgets } = dashboardBody(stack);

    const progress = widgetByTitle(widgets, 'Full load progress');
    expect(progress.properties.view).toBe('singleValue');
    expect(progress.properties.metrics).toEqual([
      ['CdkNeonMigration', 'FullLoadProgressPercent', 'TaskIdentifier', 'orders-task', { label: 'Percent loaded', stat: 'Maximum' }],
      ['CdkNeonMigration', 'TablesLoaded', 'TaskIdentifier', 'orders-task', { label: 'Tables loaded', stat: 'Maximum' }],
      ['CdkNeonMigration', 'TablesErrored', 'TaskIdentifier', 'orders-task', { label: 'Tables errored', stat: 'Maximum' }],
    ]);

    const taskDims = ['ReplicationInstanceIdentifier', 'rep-instance-1', 'ReplicationTaskIdentifier', 'ORDERSRESOURCEID'];
    expect(widgetByTitle(widgets, 'Full load throughput (rows/s)').properties.metrics).toEqual([
      ['AWS/DMS', 'FullLoadThroughputRowsSource', ...taskDims, { label: 'Read from source' }],
      ['AWS/DMS', 'FullLoadThroughputRowsTarget', ...taskDims, { label: 'Written to target' }],
    ]);
    expect(metricNames(widgetByTitle(widgets, 'Full load bandwidth to target (KB/s)'))).toEqual(['AWS/DMS/FullLoadThroughputBandwidthTarget']);
    expect(widgetByTitle(widgets, 'CDC latency (seconds)').properties.metrics).toEqual([
      ['AWS/DMS', 'CDCLatencySource', ...taskDims, { label: 'Source' }],
      ['AWS/DMS', 'CDCLatencyTarget', ...taskDims, { label: 'Target' }],
    ]);
    expect(widgetByTitle(widgets, 'CDC backlog (changes)').properties.metrics).toEqual([
      ['AWS/DMS', 'CDCIncomingChanges', ...taskDims, { label: 'Waiting to be applied', stat: 'Maximum' }],
      ['AWS/DMS', 'CDCChangesDiskTarget', ...taskDims, { label: 'Spilled to disk (target)', stat: 'Maximum' }],
    ]);

    const instanceDims = ['ReplicationInstanceIdentifier', 'rep-instance-1'];
    expect(widgetByTitle(widgets, INSTANCE_TITLES[0]).properties.metrics).toEqual([['AWS/DMS', 'CPUUtilization', ...instanceDims, { label: 'CPU' }]]);
    expect(widgetByTitle(widgets, INSTANCE_TITLES[1]).properties.metrics).toEqual([['AWS/DMS', 'FreeableMemory', ...instanceDims, { label: 'Freeable memory' }]]);
    expect(widgetByTitle(widgets, INSTANCE_TITLES[2]).properties.metrics).toEqual([
      ['AWS/DMS', 'FreeStorageSpace', ...instanceDims, { label: 'Free storage', stat: 'Minimum' }],
    ]);
    expect(widgetByTitle(widgets, INSTANCE_TITLES[3]).properties.metrics).toEqual([
      ['AWS/DMS', 'SwapUsage', ...instanceDims, { label: 'Swap used', stat: 'Maximum' }],
    ]);
  });

  test('the header links to the task in the DMS console and to the task log group', () => {
    const stack = newStack();
    new MigrationDashboard(stack, 'Dashboard', { migrations: [ORDERS] });
    const markdown = dashboardBody(stack).widgets[0].properties.markdown!;
    expect(markdown).toContain('## Migration Orders database');
    expect(markdown).toContain('[Task in the DMS console](https://console.aws.amazon.com/dms/v2/home?region={{AWS::Region}}#taskDetails/orders-task)');
    expect(markdown).toContain(
      '[Task logs](https://console.aws.amazon.com/cloudwatch/home?region={{AWS::Region}}#logsV2:log-groups/log-group/dms-tasks-rep-instance-1)',
    );
    expect(markdown).toContain('stream `dms-task-ORDERSRESOURCEID`');
  });

  test('two migrations on one instance: the instance row appears once', () => {
    const stack = newStack();
    const dashboard = new MigrationDashboard(stack, 'Dashboard', { migrations: [ORDERS] });
    dashboard.addMigration(BILLING);
    const { widgets } = dashboardBody(stack);
    expect(widgets).toHaveLength(2 * (1 + MIGRATION_TITLES.length) + INSTANCE_TITLES.length);
    expect(widgets.filter((w) => w.type === 'text').map((w) => w.properties.markdown!.split('\n')[0])).toEqual([
      '## Migration Orders database',
      '## Migration billing-task',
    ]);
    expect(widgets.filter((w) => w.properties.title === INSTANCE_TITLES[0])).toHaveLength(1);
    const billingLatency = widgets.filter((w) => w.properties.title === 'CDC latency (seconds)')[1];
    expect(billingLatency.properties.metrics![0]).toContain('BILLINGRESOURCEID');
  });

  test('a token task ARN and instance resolve inside the body', () => {
    const stack = newStack();
    const arn = new CfnParameter(stack, 'TaskArn').valueAsString;
    const instance = new CfnParameter(stack, 'Instance').valueAsString;
    new MigrationDashboard(stack, 'Dashboard', {
      migrations: [MonitoredMigration.fromAttributes({ taskArn: arn, taskIdentifier: 'orders-task', replicationInstanceIdentifier: instance })],
    });
    const [dashboard] = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard'));
    const parts: unknown[] = dashboard.Properties.DashboardBody['Fn::Join'][1];
    expect(parts).toContainEqual({ 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: 'TaskArn' }] }] });
    expect(parts).toContainEqual({ Ref: 'Instance' });
    const body = dashboardBody(stack, (i) => (JSON.stringify(i).includes('Fn::Select') ? 'TASKID' : 'TOKEN'));
    expect(widgetByTitle(body.widgets, 'CDC latency (seconds)').properties.metrics![0]).toEqual(
      ['AWS/DMS', 'CDCLatencySource', 'ReplicationInstanceIdentifier', 'TOKEN', 'ReplicationTaskIdentifier', 'TASKID', { label: 'Source' }],
    );
  });

  test('period, start and name are configurable; the period must be whole minutes', () => {
    const stack = newStack();
    new MigrationDashboard(stack, 'Dashboard', {
      dashboardName: 'orders-migration', period: Duration.minutes(1), start: '-PT3H', migrations: [ORDERS],
    });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'orders-migration' });
    const body = dashboardBody(stack);
    expect(body.start).toBe('-PT3H');
    const latency = widgetByTitle(body.widgets, 'CDC latency (seconds)');
    expect(latency.properties.metrics![0][6]).toEqual({ label: 'Source', period: 60 });

    expect(() => new MigrationDashboard(newStack(), 'D', { period: Duration.seconds(90) }))
      .toThrow(/period must be a whole number of minutes, got 1 minute 30 seconds/);
  });

  test('addAlarmStatus adds an alarm status row with the given alarms', () => {
    const stack = newStack();
    const alarms = new MigrationAlarms(stack, 'Alarms', { migration: ORDERS });
    const dashboard = new MigrationDashboard(stack, 'Dashboard', { migrations: [ORDERS] });
    dashboard.addAlarmStatus(alarms.alarms);
    const { widgets } = dashboardBody(stack, (i) => `ALARM:${JSON.stringify(i).replace(/"/g, '')}`);
    const status = widgets[widgets.length - 1];
    expect(status.type).toBe('alarm');
    expect(status.properties.title).toBe('Migration alarms');
    expect(status.properties.alarms).toHaveLength(4);
    expect(() => dashboard.addAlarmStatus([])).toThrow(/addAlarmStatus needs at least one alarm/);
  });

  test('valid CloudFormation and cdk-nag clean', () => {
    const build = (app: App, env?: Environment) => {
      const stack = new Stack(app, 'S', { env });
      new MigrationDashboard(stack, 'Dashboard', { migrations: [ORDERS, BILLING] });
      return stack;
    };
    expectValidCloudFormation(build(new App()));
    expectNagClean(build);
  });
});
