import { Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { readDoc, tableRows } from './doc-files';
import { exampleWorld } from './run-example';
import {
  DmsMigrationTask, DmsMigrationTaskProps, ExistingEgressForReplication, LobMode, MigrationAlarms, MigrationDashboard,
  MigrationPreflight, MigrationType, MigrationVerification, NeonTargetEndpoint, PostgresSourceEndpoint, TaskSettings,
} from '../../lib';

/*
 * The README's safeguards table tells the truth: its "on by default" column is checked against a
 * synthesized default live migration (FULL_LOAD_AND_CDC from PostgresSourceEndpoint.fromRdsInstance
 * into a NeonTargetEndpoint, on a replication instance in an ExistingEgressForReplication network,
 * no other property), and its "turned on (or off) by" column by synthesizing the migration with what
 * the row names: the safeguard appears (or disappears).
 */

const HEADING = '### Safeguards: what is on by default';

interface Built {
  readonly template: Template;
  readonly warnings: string[];
}

interface Change {
  /** Task properties added to the default migration (made in its stack). */
  readonly props?: (stack: Stack) => Partial<DmsMigrationTaskProps>;
  /** What is declared next to the task. */
  readonly next?: (migration: DmsMigrationTask) => void;
}

function build(change: Change = {}): Built {
  const world = exampleWorld('Safeguards');
  const { stack } = world;
  const network = new ExistingEgressForReplication(stack, 'Network', { vpc: world.values['vpc: ec2.IVpc']() as ec2.IVpc });
  const source = PostgresSourceEndpoint.fromRdsInstance(stack, 'Source', {
    instance: world.values['database: rds.DatabaseInstance']() as rds.DatabaseInstance,
    databaseName: 'app',
  });
  const neon = new NeonTargetEndpoint(stack, 'Neon', {
    connectionStringSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'NeonConnection', 'neon/connection'),
  });
  const migration = new DmsMigrationTask(stack, 'Migration', {
    source,
    target: neon,
    network,
    schemaName: 'app',
    migrationType: MigrationType.FULL_LOAD_AND_CDC,
    ...change.props?.(stack),
  });
  change.next?.(migration);
  const warnings = Annotations.fromStack(stack).findWarning('*', Match.anyValue()).map((w) => String(w.entry.data));
  return { template: Template.fromStack(stack), warnings };
}

const count = (b: Built, type: string) => Object.keys(b.template.findResources(type)).length;
const settingsOf = (b: Built) => JSON.parse(String(Object.values(b.template.findResources('AWS::DMS::ReplicationTask'))[0].Properties.ReplicationTaskSettings));
const alarmOn = (b: Built, metric: string) => Object.keys(b.template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: metric } })).length > 0;

/** `neonCompute`, its API key secret imported in the migration's stack. */
function neonCompute(stack: Stack): Partial<DmsMigrationTaskProps> {
  return { neonCompute: { projectId: 'crimson-sun-12345678', apiKeySecret: secretsmanager.Secret.fromSecretNameV2(stack, 'NeonApiKey', 'neon/api-key') } };
}

/**
 * For each safeguard (the code in the table's first column): how to see it in a synthesized stack,
 * the change that turns it on (for a safeguard off by default) or off (on by default; none when it is
 * always on), and what the table's third column must name for that change.
 */
const SAFEGUARDS: Record<string, { present: (b: Built) => boolean; change?: Change; names: string[] }> = {
  'testConnections': {
    present: (b) => Object.values(b.template.findResources('Custom::DmsTaskLifecycle'))
      .some((r) => (r.Properties.TestEndpointArns ?? []).length === 2),
    change: { props: () => ({ testConnections: false }) },
    names: ['testConnections: false'],
  },
  'NeonDmsTaskStopper': {
    present: (b) => count(b, 'Custom::DmsTaskStopper') === 1,
    names: ['always'],
  },
  'lobMode': {
    present: (b) => {
      const s = settingsOf(b);
      return s.TargetMetadata.SupportLobs === true && s.TargetMetadata.LimitedSizeLobMode === true
        && s.ErrorBehavior.DataTruncationErrorPolicy === 'STOP_TASK';
    },
    change: { props: () => ({ settings: new TaskSettings({ lobMode: LobMode.FULL }) }) },
    names: ['new TaskSettings({ lobMode })'],
  },
  'enableValidation': {
    present: (b) => settingsOf(b).ValidationSettings.EnableValidation === true,
    change: { props: () => ({ settings: new TaskSettings({ enableValidation: false }) }) },
    names: ['new TaskSettings({ enableValidation: false })'],
  },
  'dropReplicationSlot': {
    present: (b) => count(b, 'Custom::NeonReplicationSlotCleanup') === 1,
    change: { props: () => ({ dropReplicationSlot: false }) },
    names: ['dropReplicationSlot: false'],
  },
  'cdk-neon-migration:neonComputeSuspends': {
    present: (b) => b.warnings.some((w) => w.includes('cdk-neon-migration:neonComputeSuspends')),
    change: { props: neonCompute },
    names: ['neonCompute'],
  },
  'neonCompute': {
    present: (b) => count(b, 'Custom::NeonComputeKeepAlive') === 1,
    change: { props: neonCompute },
    names: ['neonCompute: { projectId, apiKeySecret }'],
  },
  'schemaCopy': {
    present: (b) => count(b, 'Custom::NeonSchemaCopy') > 0,
    change: { props: () => ({ schemaCopy: {}, waitForCompletion: true }) },
    names: ['schemaCopy: {}', 'waitForCompletion: true'],
  },
  'premigrationAssessment': {
    present: (b) => count(b, 'Custom::DmsPremigrationAssessment') === 1,
    change: { props: () => ({ premigrationAssessment: {} }) },
    names: ['premigrationAssessment: {}'],
  },
  'MigrationPreflight': {
    present: (b) => count(b, 'Custom::NeonMigrationPreflight') === 1,
    change: { next: (task) => MigrationPreflight.forTask(task, 'Preflight', { task }) },
    names: ['MigrationPreflight.forTask('],
  },
  'targetCapacity': {
    present: (b) => Object.values(b.template.findResources('Custom::NeonMigrationPreflight')).some((r) => r.Properties.TargetCapacity !== undefined),
    change: { next: (task) => MigrationPreflight.forTask(task, 'Preflight', { task, targetCapacity: {} }) },
    names: ['MigrationPreflight.forTask(', 'targetCapacity: {}'],
  },
  'MigrationVerification': {
    present: (b) => count(b, 'Custom::NeonMigrationVerification') === 1,
    change: { props: () => ({ waitForCompletion: true }), next: (task) => MigrationVerification.forTask(task, 'Verification', { task }) },
    names: ['MigrationVerification.forTask(', 'waitForCompletion: true'],
  },
  'MigrationAlarms': {
    present: (b) => alarmOn(b, 'CDCLatencyTarget') && count(b, 'AWS::Events::Rule') > 0,
    change: { next: (migration) => new MigrationAlarms(migration, 'Alarms', { migration }) },
    names: ['new MigrationAlarms('],
  },
  'PostgresSourceAlarms': {
    present: (b) => alarmOn(b, 'OldestReplicationSlotLag') && alarmOn(b, 'TransactionLogsDiskUsage'),
    change: { next: (migration) => new MigrationAlarms(migration, 'Alarms', { migration }) },
    names: ['new MigrationAlarms(', 'fromRdsInstance'],
  },
  'MigrationDashboard': {
    present: (b) => count(b, 'AWS::CloudWatch::Dashboard') === 1,
    change: { next: (migration) => new MigrationDashboard(migration, 'Dashboard', { migrations: [migration] }) },
    names: ['new MigrationDashboard('],
  },
  'outputs': {
    present: (b) => ['MigrationTaskArn', 'MigrationSourceSecretArn', 'MigrationTargetSecretArn', 'MigrationCutoverCommand', 'NeonMigrationRegion']
      .every((id) => b.template.toJSON().Outputs?.[id] !== undefined),
    change: { props: () => ({ outputs: false }) },
    names: ['outputs: false'],
  },
  'grantCutover': {
    present: (b) => Object.values(b.template.findResources('AWS::IAM::Policy')).some((p) => (p.Properties.PolicyDocument.Statement as any[])
      .some((s) => JSON.stringify(s.Action) === JSON.stringify(['dms:DescribeReplicationTasks', 'dms:DescribeReplicationInstances', 'cloudwatch:GetMetricData']))),
    change: { next: (migration) => migration.grantCutover(new iam.Role(migration, 'Operator', { assumedBy: new iam.AccountRootPrincipal() })) },
    names: ['grantCutover(role)'],
  },
};

interface Row {
  readonly key: string;
  readonly safeguard: string;
  readonly byDefault: boolean;
  readonly turnedOnBy: string;
}

const rows: Row[] = tableRows(readDoc('README.md'), HEADING).slice(1).map((cells) => {
  const key = /`([^`]+)`/.exec(cells[0])?.[1];
  if (!key) throw new Error(`the safeguards row "${cells[0]}" names no property or construct in backticks`);
  if (cells[1] !== 'yes' && cells[1] !== 'no') throw new Error(`the safeguards row "${cells[0]}" says "${cells[1]}" on by default: write yes or no`);
  return { key, safeguard: cells[0], byDefault: cells[1] === 'yes', turnedOnBy: cells[2] };
});

let defaults: Built;
beforeAll(() => {
  defaults = build();
});

describe('README: the safeguards table', () => {
  test('has a row for every safeguard this test knows, and knows every row', () => {
    expect(rows.map((r) => r.key).sort()).toEqual(Object.keys(SAFEGUARDS).sort());
    expect(rows.length).toBeGreaterThanOrEqual(15);
  });

  test.each(rows.map((r) => [r.safeguard, r] as const))('%s: "on by default" is what the default migration has', (_, row) => {
    expect([row.key, SAFEGUARDS[row.key].present(defaults)]).toEqual([row.key, row.byDefault]);
  });

  test.each(rows.map((r) => [r.safeguard, r] as const))('%s: what the row names turns it on (or off)', (_, row) => {
    const safeguard = SAFEGUARDS[row.key];
    for (const name of safeguard.names) {
      expect([row.key, row.turnedOnBy]).toEqual([row.key, expect.stringContaining(name)]);
    }
    if (!safeguard.change) {
      expect(row.byDefault).toBe(true); // always on: nothing turns it off
      return;
    }
    expect([row.key, safeguard.present(build(safeguard.change))]).toEqual([row.key, !row.byDefault]);
  });
});
