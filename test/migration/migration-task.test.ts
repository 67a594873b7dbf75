import { App, Lazy, Resource, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Construct } from 'constructs';
import { EndpointType, IDmsEndpoint } from '../../lib/core/interfaces';
import { DmsMigrationTask, DmsMigrationTaskProps } from '../../lib/migration';
import { MigrationAlarms, MigrationDashboard } from '../../lib/monitoring';
import { ReplicationInstance } from '../../lib/replication';
import { LobMode, MigrationType, TableMappings, TaskSettings } from '../../lib/task';

const INSTANCE_ARN = 'arn:aws:dms:us-east-2:123456789012:rep:INSTANCE1';

class FakeEndpoint extends Resource implements IDmsEndpoint {
  public readonly endpointArn: string;
  public readonly engineName = 'postgres';
  public readonly port = 5432;
  public logicalReplication?: string;
  constructor(scope: Construct, id: string, public readonly endpointType: EndpointType, public readonly endpointIdentifier: string) {
    super(scope, id);
    this.endpointArn = `arn:aws:dms:us-east-2:123456789012:endpoint:${endpointIdentifier.toUpperCase().replace(/-/g, '')}`;
  }
  public logicalReplicationStatus(): string {
    return this.logicalReplication ?? 'unknown';
  }
}

interface Fixture {
  stack: Stack;
  source: FakeEndpoint;
  target: FakeEndpoint;
  props: DmsMigrationTaskProps;
}

function fixture(): Fixture {
  const stack = new Stack(new App(), 'S');
  const source = new FakeEndpoint(stack, 'Source', EndpointType.SOURCE, 'source-pg');
  const target = new FakeEndpoint(stack, 'Target', EndpointType.TARGET, 'neon');
  const replicationInstance = ReplicationInstance.fromReplicationInstanceAttributes(stack, 'Instance', {
    replicationInstanceArn: INSTANCE_ARN,
    replicationInstanceIdentifier: 'dms-instance',
  });
  return { stack, source, target, props: { source, target, replicationInstance, schemaName: 'dms_sample' } };
}

function task(overrides: Partial<DmsMigrationTaskProps> = {}): { stack: Stack; task: DmsMigrationTask; template: Template; source: FakeEndpoint } {
  const f = fixture();
  const t = new DmsMigrationTask(f.stack, 'Migration', { ...f.props, ...overrides });
  return { stack: f.stack, task: t, template: Template.fromStack(f.stack), source: f.source };
}

describe('DmsMigrationTask', () => {
  test('creates the replication task with the guide\'s defaults', () => {
    const { template, task: t } = task();
    template.resourceCountIs('AWS::DMS::ReplicationTask', 1);
    template.hasResourceProperties('AWS::DMS::ReplicationTask', {
      MigrationType: 'full-load',
      ReplicationInstanceArn: INSTANCE_ARN,
      SourceEndpointArn: 'arn:aws:dms:us-east-2:123456789012:endpoint:SOURCEPG',
      TargetEndpointArn: 'arn:aws:dms:us-east-2:123456789012:endpoint:NEON',
      ReplicationTaskIdentifier: Stack.of(t).resolve(t.taskIdentifier),
      TableMappings: TableMappings.includeSchema('dms_sample').toJson(),
      ReplicationTaskSettings: new TaskSettings().toJson(),
      CdcStartPosition: Match.absent(),
      CdcStartTime: Match.absent(),
      CdcStopPosition: Match.absent(),
      Tags: Match.arrayWith([
        { Key: 'cdk-neon-migration:source', Value: 'source-pg' },
        { Key: 'cdk-neon-migration:target', Value: 'neon' },
      ]),
    });
    expect(t.replicationTask!.node.id).toBe('Resource');
    expect(t.node.defaultChild).toBe(t.replicationTask);
  });

  test('the generated identifier is a valid DMS identifier, stable across synths', () => {
    const resolved = () => {
      const t = task().task;
      return Stack.of(t).resolve(t.taskIdentifier);
    };
    const a = resolved();
    const b = resolved();
    expect(a).toBe(b);
    expect(a).toMatch(/^[a-z](?!.*--)[a-z0-9-]{0,254}$/);
    expect(a).not.toMatch(/-$/);
    expect(a).toContain('migration');
  });

  test('an explicit identifier is lowercased', () => {
    const { template } = task({ taskIdentifier: 'Dms-Task' });
    template.hasResourceProperties('AWS::DMS::ReplicationTask', { ReplicationTaskIdentifier: 'dms-task' });
  });

  test.each([
    ['1task', "DmsMigrationTask: taskIdentifier '1task' must begin with a letter."],
    ['dms_task', "DmsMigrationTask: taskIdentifier 'dms_task' must contain only ASCII letters, digits and hyphens."],
    ['dms--task', "DmsMigrationTask: taskIdentifier 'dms--task' must not contain two consecutive hyphens."],
    ['dms-task-', "DmsMigrationTask: taskIdentifier 'dms-task-' must not end with a hyphen."],
    ['', "DmsMigrationTask: taskIdentifier '' must be 1 to 255 characters long (it has 0), begin with a letter."],
    ['a'.repeat(256), `DmsMigrationTask: taskIdentifier '${'a'.repeat(256)}' must be 1 to 255 characters long (it has 256).`],
  ])('invalid task identifier %j', (taskIdentifier, message) => {
    expect(() => task({ taskIdentifier })).toThrow(message);
  });

  test('a token identifier is refused: the lifecycle finds the task by it', () => {
    expect(() => task({ taskIdentifier: Lazy.string({ produce: () => 'dms-task' }) })).toThrow(
      'DmsMigrationTask: taskIdentifier must be a literal string, not a token: the task is found by its identifier to stop it before updates. Omit it to get one derived from the construct path.');
  });

  test.each([MigrationType.FULL_LOAD, MigrationType.CDC, MigrationType.FULL_LOAD_AND_CDC])('migration type %s', (migrationType) => {
    const { template, task: t } = task({ migrationType });
    template.hasResourceProperties('AWS::DMS::ReplicationTask', { MigrationType: migrationType });
    expect(t.migrationType).toBe(migrationType);
  });

  test('CDC start position and stop position', () => {
    const { template } = task({ migrationType: MigrationType.CDC, cdcStartPosition: '0/2A3B4C5D', cdcStopPosition: 'server_time:2026-02-09T12:12:12' });
    template.hasResourceProperties('AWS::DMS::ReplicationTask', {
      CdcStartPosition: '0/2A3B4C5D',
      CdcStartTime: Match.absent(),
      CdcStopPosition: 'server_time:2026-02-09T12:12:12',
    });
  });

  test('CDC start time in epoch seconds', () => {
    const { template } = task({ migrationType: MigrationType.FULL_LOAD_AND_CDC, cdcStartTime: new Date('2026-01-02T03:04:05.678Z') });
    template.hasResourceProperties('AWS::DMS::ReplicationTask', { CdcStartTime: 1767323045 });
  });

  test.each([
    [{ migrationType: MigrationType.CDC, cdcStartPosition: 'x', cdcStartTime: new Date(0) },
      'DmsMigrationTask: cdcStartPosition and cdcStartTime are mutually exclusive: set one of them.'],
    [{ cdcStartPosition: '0/1', cdcStopPosition: 'commit_time:2026-01-01T00:00:00' },
      'DmsMigrationTask: cdcStartPosition, cdcStopPosition only apply to MigrationType.CDC or FULL_LOAD_AND_CDC (migrationType is full-load).'],
    [{ migrationType: MigrationType.CDC, cdcStopPosition: '2026-01-01' },
      "DmsMigrationTask: cdcStopPosition '2026-01-01' must be server_time:YYYY-MM-DDTHH:MM:SS or commit_time:YYYY-MM-DDTHH:MM:SS (UTC)."],
    [{ migrationType: MigrationType.CDC, cdcStartPosition: ' ' },
      'DmsMigrationTask: cdcStartPosition is empty; give an LSN or checkpoint, or omit it.'],
    [{ migrationType: MigrationType.CDC, cdcStartTime: new Date('nonsense') },
      'DmsMigrationTask: cdcStartTime is an invalid Date.'],
  ])('CDC option errors %#', (props, message) => {
    expect(() => task(props)).toThrow(message);
  });

  test('a token stop position is not checked', () => {
    expect(() => task({ migrationType: MigrationType.CDC, cdcStopPosition: Lazy.string({ produce: () => 'x' }) })).not.toThrow();
  });

  test('source and target endpoint types', () => {
    const f = fixture();
    expect(() => new DmsMigrationTask(f.stack, 'Swapped', { ...f.props, source: f.target, target: f.source })).toThrow(
      "DmsMigrationTask: source and target are swapped: 'neon' is a target endpoint and 'source-pg' a source endpoint; pass the source database endpoint as source and the Neon endpoint as target.");
    expect(() => new DmsMigrationTask(f.stack, 'TwoTargets', { ...f.props, source: f.target })).toThrow(
      "DmsMigrationTask: source 'neon' is a target endpoint; pass an endpoint of type source (e.g. PostgresSourceEndpoint).");
    expect(() => new DmsMigrationTask(f.stack, 'TwoSources', { ...f.props, target: f.source })).toThrow(
      "DmsMigrationTask: target 'source-pg' is a source endpoint; pass an endpoint of type target (e.g. NeonTargetEndpoint).");
  });

  test('table mappings: schemaName, tableMappings, neither or both', () => {
    const mappings = TableMappings.includeSchema('app').exclude('app', 'audit_%');
    const { template } = task({ schemaName: undefined, tableMappings: mappings });
    template.hasResourceProperties('AWS::DMS::ReplicationTask', { TableMappings: mappings.toJson() });
    expect(() => task({ schemaName: undefined })).toThrow('DmsMigrationTask: set schemaName (every table of that schema is migrated) or tableMappings.');
    expect(() => task({ tableMappings: mappings })).toThrow(
      'DmsMigrationTask: tableMappings and schemaName are alternatives: include the schema in tableMappings, or set schemaName alone.');
  });

  test('table mappings are validated at synth, including rules added after the task', () => {
    const f = fixture();
    const mappings = new TableMappings();
    new DmsMigrationTask(f.stack, 'Migration', { ...f.props, schemaName: undefined, tableMappings: mappings });
    expect(() => Template.fromStack(f.stack)).toThrow(/no selection rule includes any table/);

    const g = fixture();
    const later = new TableMappings();
    new DmsMigrationTask(g.stack, 'Migration', { ...g.props, schemaName: undefined, tableMappings: later });
    later.include('late_schema');
    Template.fromStack(g.stack).hasResourceProperties('AWS::DMS::ReplicationTask', { TableMappings: Match.stringLikeRegexp('late_schema') });
  });

  test('custom settings are rendered', () => {
    const settings = new TaskSettings({ lobMode: LobMode.FULL, commitRate: 500 });
    const { template } = task({ settings });
    template.hasResourceProperties('AWS::DMS::ReplicationTask', { ReplicationTaskSettings: settings.toJson() });
  });

  test('tests both connections from the instance in the lifecycle resource, with no resource of its own', () => {
    const { template, task: t } = task();
    template.resourceCountIs('Custom::DmsConnectionTest', 0);
    template.hasResourceProperties('Custom::DmsTaskLifecycle', {
      TestEndpointArns: ['arn:aws:dms:us-east-2:123456789012:endpoint:SOURCEPG', 'arn:aws:dms:us-east-2:123456789012:endpoint:NEON'],
      TestReplicationInstanceArn: INSTANCE_ARN,
    });
    expect(t.startDependencies).toEqual([]);
  });

  test('testConnections: false tests no connection', () => {
    const { template } = task({ testConnections: false });
    template.resourceCountIs('Custom::DmsConnectionTest', 0);
    const [lifecycle] = Object.values(template.findResources('Custom::DmsTaskLifecycle')) as any[];
    expect(lifecycle.Properties.TestEndpointArns).toBeUndefined();
    expect(lifecycle.Properties.TestReplicationInstanceArn).toBeUndefined();
  });

  test('network and replicationInstance are alternatives', () => {
    const f = fixture();
    const network = { vpc: {}, replicationSubnets: {}, securityGroup: {}, egressReady: f.stack } as any;
    expect(() => new DmsMigrationTask(f.stack, 'Both', { ...f.props, network })).toThrow(new Error(
      'DmsMigrationTask: network and replicationInstance are alternatives: an instance brings its network with it (what the task waits for is the '
      + 'instance\'s egressReady). Pass network to create an instance in it, or the instance alone.'));
  });

  test('needs a replication instance or a network', () => {
    expect(() => task({ replicationInstance: undefined })).toThrow(
      'DmsMigrationTask: set replicationInstance, or network to create a replication instance in it.');
  });

  test('metrics use the instance identifier and the task resource id from the ARN', () => {
    const { stack, task: t } = task();
    const metric = t.metricFullLoadThroughputRowsTarget();
    expect(metric.namespace).toBe('AWS/DMS');
    expect(metric.metricName).toBe('FullLoadThroughputRowsTarget');
    expect(metric.period.toSeconds()).toBe(300);
    expect(metric.statistic).toBe('Average');
    const dimensions = stack.resolve(metric.dimensions);
    expect(dimensions).toEqual({
      ReplicationInstanceIdentifier: 'dms-instance',
      ReplicationTaskIdentifier: { 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: stack.getLogicalId(t.replicationTask!) }] }] },
    });
    expect([
      t.metricFullLoadThroughputRowsSource(), t.metricFullLoadThroughputBandwidthTarget(), t.metricCdcLatencySource(),
      t.metricCdcLatencyTarget(), t.metricCdcIncomingChanges(), t.metricCdcChangesDiskTarget(),
    ].map((m) => m.metricName)).toEqual([
      'FullLoadThroughputRowsSource', 'FullLoadThroughputBandwidthTarget', 'CDCLatencySource', 'CDCLatencyTarget', 'CDCIncomingChanges', 'CDCChangesDiskTarget',
    ]);
    expect(t.metric('CDCLatencyTarget', { statistic: 'Maximum' }).statistic).toBe('Maximum');
  });

  describe('warnings', () => {
    test('LobMode.NONE names the consequence', () => {
      const { stack } = task({ settings: new TaskSettings({ lobMode: LobMode.NONE }) });
      Annotations.fromStack(stack).hasWarning('/S/Migration', Match.stringLikeRegexp(
        'LobMode.NONE \\("Don\'t include LOB columns"\\) leaves every LOB column out of the migration: TEXT, JSON, JSONB, BYTEA, XML and array columns of a PostgreSQL source arrive missing or NULL in Neon'));
    });

    test('no LOB warning by default', () => {
      const { stack } = task();
      Annotations.fromStack(stack).hasNoWarning('/S/Migration', Match.stringLikeRegexp('LobMode.NONE'));
    });

    test('CDC from a source without logical replication, known only after the task was created', () => {
      const f = fixture();
      new DmsMigrationTask(f.stack, 'Migration', { ...f.props, migrationType: MigrationType.FULL_LOAD_AND_CDC });
      f.source.logicalReplication = 'disabled';
      Annotations.fromStack(f.stack).hasWarning('/S/Migration', Match.stringLikeRegexp(
        "full-load-and-cdc needs logical replication on the source, but the parameter group of source 'source-pg' does not set rds.logical_replication=1"));
    });

    test('no logical-replication warning for a full load or when it is on', () => {
      const f = fixture();
      f.source.logicalReplication = 'disabled';
      new DmsMigrationTask(f.stack, 'Migration', f.props);
      Annotations.fromStack(f.stack).hasNoWarning('*', Match.stringLikeRegexp('logical replication'));

      const g = fixture();
      g.source.logicalReplication = 'enabled';
      new DmsMigrationTask(g.stack, 'Migration', { ...g.props, migrationType: MigrationType.CDC });
      Annotations.fromStack(g.stack).hasNoWarning('*', Match.stringLikeRegexp('logical replication'));
    });

    test('waiting for a CDC task, batch apply on a full load', () => {
      const { stack } = task({ migrationType: MigrationType.CDC, waitForCompletion: true });
      Annotations.fromStack(stack).hasWarning('/S/Migration', Match.stringLikeRegexp('waitForCompletion has no full load to wait for with cdc'));
      // full load and CDC: the lifecycle waits for the full load, so nothing to warn about
      const both = task({ migrationType: MigrationType.FULL_LOAD_AND_CDC, waitForCompletion: true });
      Annotations.fromStack(both.stack).hasNoWarning('/S/Migration', Match.stringLikeRegexp('waitForCompletion'));
      expect(both.task.waitForCompletion).toBe(true);
      expect(task().task.waitForCompletion).toBe(false);
      const other = task({ settings: new TaskSettings({ batchApplyEnabled: true }) });
      Annotations.fromStack(other.stack).hasWarning('/S/Migration', Match.stringLikeRegexp('batchApplyEnabled only affects change processing'));
    });
  });
});

describe('monitoring a DmsMigrationTask', () => {
  test('MigrationAlarms and MigrationDashboard take the task itself, with its instance and task-resource-id dimensions', () => {
    const f = fixture();
    const stack = f.stack;
    const t = new DmsMigrationTask(stack, 'Migration', f.props);
    const alarms = new MigrationAlarms(stack, 'Alarms', { migration: t });
    new MigrationDashboard(stack, 'Dashboard', { migrations: [t] });
    const template = Template.fromStack(stack);
    expect(alarms.alarms.length).toBeGreaterThan(0);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'CDCLatencyTarget',
      Dimensions: Match.arrayWith([
        { Name: 'ReplicationInstanceIdentifier', Value: t.replicationInstanceIdentifier },
        { Name: 'ReplicationTaskIdentifier', Value: stack.resolve(t.taskResourceId) },
      ]),
    });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});
