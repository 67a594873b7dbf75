import { Annotations, ArnFormat, Aws, CfnResource, Duration, Names, Size, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { IMonitoredMigration } from './monitored-migration';
import { MigrationNotificationTopic } from './notification-topic';
import { PostgresSourceAlarms } from './source-alarms';
import {
  ERROR_STOP_MESSAGE_WILDCARDS,
  TASK_FAILED_EVENT_TYPE,
  TASK_STATE_CHANGE_DETAIL_TYPE,
  TASK_STOPPED_EVENT_TYPE,
} from './task-events';
import { normalizeInstanceIdentifier } from '../metrics/identifiers';
import { DmsMetrics } from '../metrics/metrics';

/** How failures and error stops of the replication task reach the notification topic. */
export enum TaskEventNotification {
  /**
   * An EventBridge rule on `DMS Replication Task State Change` events (DMS 3.4.6 and later;
   * AWS recommends it over event subscriptions).
   */
  EVENTBRIDGE = 'eventbridge',
  /** A DMS event subscription (categories `failure` and `state change`), for any DMS version. */
  EVENT_SUBSCRIPTION = 'event-subscription',
  /** Both: a failure may then be notified twice. */
  BOTH = 'both',
  /** No task-event notification: only the CloudWatch alarms. */
  NONE = 'none',
}

/** Properties of `MigrationAlarms`. */
export interface MigrationAlarmsProps {
  /** The replication task to watch (a `DmsMigrationTask`, or `MonitoredMigration.fromAttributes`). */
  readonly migration: IMonitoredMigration;

  /**
   * Where alarms and task events are sent. An SNS topic created by this library (or by the same
   * app) gets the publish statements it needs; for an imported topic, allow
   * `cloudwatch.amazonaws.com`, `events.amazonaws.com` and `dms.amazonaws.com` to publish yourself
   * (and to use its KMS key).
   *
   * @default - a new `MigrationNotificationTopic` (KMS-encrypted, TLS only)
   */
  readonly notificationTopic?: sns.ITopic;

  /**
   * Alarm when `CDCLatencySource` or `CDCLatencyTarget` (5-minute average) is above this for
   * `cdcLatencyEvaluationPeriods` periods in a row.
   *
   * @default Duration.minutes(5)
   */
  readonly cdcLatencyThreshold?: Duration;

  /**
   * Number of consecutive 5-minute periods the CDC latency must stay above the threshold.
   *
   * @default 3
   */
  readonly cdcLatencyEvaluationPeriods?: number;

  /**
   * Alarm when the replication instance's free storage (5-minute minimum) falls below this.
   * Task logs, cached changes and swap files fill it; a full disk stops every task on the instance.
   *
   * @default Size.gibibytes(10)
   */
  readonly freeStorageThreshold?: Size;

  /**
   * Allocated storage of the replication instance, used only to check `freeStorageThreshold`
   * (which must be smaller).
   *
   * @default - not checked
   */
  readonly allocatedStorage?: Size;

  /**
   * Alarm when the replication instance's CPU (5-minute average) is above this percentage for
   * 3 periods in a row.
   *
   * @default 90
   */
  readonly cpuUtilizationThresholdPercent?: number;

  /**
   * How failures and error stops of the task are notified. CloudWatch has no metric for a failed
   * task, so these come from DMS events.
   *
   * @default TaskEventNotification.EVENTBRIDGE
   */
  readonly taskEvents?: TaskEventNotification;

  /**
   * Prefix of the alarm names, e.g. `orders-migration` gives `orders-migration-cdc-latency-target`.
   *
   * @default - CloudFormation generates the names
   */
  readonly alarmNamePrefix?: string;
}

const DEFAULT_CDC_LATENCY = Duration.minutes(5);
const DEFAULT_CDC_EVALUATION_PERIODS = 3;
const DEFAULT_FREE_STORAGE = Size.gibibytes(10);
const DEFAULT_CPU_PERCENT = 90;
const CPU_EVALUATION_PERIODS = 3;

/**
 * Opt-in alarms and notifications for one migration:
 *
 * - CloudWatch alarms on CDC latency (source and target), the instance's free storage and CPU,
 *   each with an SNS action;
 * - the task failing or stopping with an error, from DMS events (an EventBridge rule and/or a DMS
 *   event subscription), since CloudWatch has no metric for it.
 *
 * Everything goes to one SNS topic; a new encrypted one unless `notificationTopic` is given. The
 * topic policy lets each alarm, the rule and DMS event subscriptions publish, each limited by
 * `aws:SourceArn`, and nothing else.
 */
export class MigrationAlarms extends Construct {
  /** The topic notifications go to. */
  public readonly topic: sns.ITopic;

  /** Alarm on `CDCLatencySource`. */
  public readonly cdcLatencySourceAlarm: cloudwatch.Alarm;

  /** Alarm on `CDCLatencyTarget`. */
  public readonly cdcLatencyTargetAlarm: cloudwatch.Alarm;

  /** Alarm on the replication instance's `FreeStorageSpace`. */
  public readonly freeStorageAlarm: cloudwatch.Alarm;

  /** Alarm on the replication instance's `CPUUtilization`. */
  public readonly cpuUtilizationAlarm: cloudwatch.Alarm;

  /**
   * The source database's alarms (replication-slot lag, WAL and slot disk usage, free storage),
   * when the migration names its `sourceDatabase` (a `DmsMigrationTask` with CDC from an RDS or
   * Aurora PostgreSQL source does). Add them to a dashboard with `addToDashboard`.
   */
  public readonly sourceAlarms?: PostgresSourceAlarms;

  /** The EventBridge rule forwarding task failures, when `taskEvents` includes it. */
  public readonly taskEventRule?: events.Rule;

  /** The DMS event subscription, when `taskEvents` includes it. */
  public readonly eventSubscription?: dms.CfnEventSubscription;

  constructor(scope: Construct, id: string, props: MigrationAlarmsProps) {
    super(scope, id);

    const migration = props.migration;
    const latency = props.cdcLatencyThreshold ?? DEFAULT_CDC_LATENCY;
    const latencyPeriods = props.cdcLatencyEvaluationPeriods ?? DEFAULT_CDC_EVALUATION_PERIODS;
    const freeStorage = props.freeStorageThreshold ?? DEFAULT_FREE_STORAGE;
    const cpuPercent = props.cpuUtilizationThresholdPercent ?? DEFAULT_CPU_PERCENT;
    const taskEvents = props.taskEvents ?? TaskEventNotification.EVENTBRIDGE;
    validateProps(latency, latencyPeriods, freeStorage, props.allocatedStorage, cpuPercent);

    // the task ARN is validated here, at synth, rather than deep inside a metric
    DmsMetrics.taskResourceId(migration.taskArn);

    this.topic = props.notificationTopic ?? new MigrationNotificationTopic(this, 'Notifications').topic;
    const action = new cloudwatchActions.SnsAction(this.topic);
    const name = (suffix: string) => props.alarmNamePrefix ? `${props.alarmNamePrefix}-${suffix}` : undefined;
    const task = migration.taskIdentifier;
    const instance = normalizeInstanceIdentifier(migration.replicationInstanceIdentifier);
    const latencySeconds = latency.toSeconds({ integral: false });
    const latencyText = Token.isUnresolved(latencySeconds) ? 'the threshold' : `${latencySeconds} s`;

    this.cdcLatencySourceAlarm = new cloudwatch.Alarm(this, 'CdcLatencySource', {
      alarmName: name('cdc-latency-source'),
      alarmDescription:
        `DMS task ${task}: changes are read from the source more than ${latencyText} after they were committed. ` +
        'Check the source: long-running transactions, replication slot and WAL settings, and the ' +
        'replication instance CPU and memory. See the task log (log group dms-tasks-' + instance + ').',
      metric: DmsMetrics.cdcLatencySource(migration.taskArn, instance),
      threshold: latencySeconds,
      evaluationPeriods: latencyPeriods,
      datapointsToAlarm: latencyPeriods,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.cdcLatencyTargetAlarm = new cloudwatch.Alarm(this, 'CdcLatencyTarget', {
      alarmName: name('cdc-latency-target'),
      alarmDescription:
        `DMS task ${task}: changes reach Neon more than ${latencyText} after they were committed on the source. ` +
        'If the source latency is low, the target is the bottleneck: check the Neon compute size (and that ' +
        'it is not suspended), tables without primary keys, and CDCIncomingChanges. See the task log (log ' +
        'group dms-tasks-' + instance + ').',
      metric: DmsMetrics.cdcLatencyTarget(migration.taskArn, instance),
      threshold: latencySeconds,
      evaluationPeriods: latencyPeriods,
      datapointsToAlarm: latencyPeriods,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.freeStorageAlarm = new cloudwatch.Alarm(this, 'FreeStorage', {
      alarmName: name('free-storage'),
      alarmDescription:
        `DMS replication instance ${instance}: free storage is below ${describeSize(freeStorage)}. ` +
        'Increase its allocated storage, lower task log verbosity (Logging severities) or delete old task ' +
        'logs; a full disk stops every task on the instance.',
      metric: DmsMetrics.freeStorageSpace(instance, { statistic: cloudwatch.Stats.MINIMUM }),
      threshold: freeStorage.toBytes(),
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    });

    this.cpuUtilizationAlarm = new cloudwatch.Alarm(this, 'CpuUtilization', {
      alarmName: name('cpu-utilization'),
      alarmDescription:
        `DMS replication instance ${instance}: CPU above ${cpuPercent}% for ${CPU_EVALUATION_PERIODS * 5} minutes. ` +
        'Move to a larger instance class or run fewer tasks (or fewer full-load subtasks) on it.',
      metric: DmsMetrics.cpuUtilization(instance),
      threshold: cpuPercent,
      evaluationPeriods: CPU_EVALUATION_PERIODS,
      datapointsToAlarm: CPU_EVALUATION_PERIODS,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const alarms = [this.cdcLatencySourceAlarm, this.cdcLatencyTargetAlarm, this.freeStorageAlarm, this.cpuUtilizationAlarm];
    for (const alarm of alarms) {
      alarm.addAlarmAction(action);
    }
    if (migration.sourceDatabase) {
      this.sourceAlarms = new PostgresSourceAlarms(this, 'Source', {
        database: migration.sourceDatabase,
        notificationTopic: this.topic,
        alarmNamePrefix: props.alarmNamePrefix,
      });
    }

    const stack = Stack.of(this);
    const policyResults: boolean[] = [];
    policyResults.push(this.allowPublish('cloudwatch.amazonaws.com', {
      ArnEquals: { 'aws:SourceArn': alarms.map((a) => a.alarmArn) },
      StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
    }));

    if (taskEvents === TaskEventNotification.EVENTBRIDGE || taskEvents === TaskEventNotification.BOTH) {
      this.taskEventRule = new events.Rule(this, 'TaskFailed', {
        description: `Forwards failures and error stops of DMS task ${task} to the migration notification topic`,
        eventPattern: {
          source: ['aws.dms'],
          detailType: [TASK_STATE_CHANGE_DETAIL_TYPE],
          resources: [migration.taskArn],
          detail: {
            $or: [
              { eventType: [TASK_FAILED_EVENT_TYPE] },
              {
                eventType: [TASK_STOPPED_EVENT_TYPE],
                detailMessage: ERROR_STOP_MESSAGE_WILDCARDS.map((wildcard) => ({ wildcard })),
              },
            ],
          },
        },
      });
      this.taskEventRule.addTarget(new TopicTarget(this.topic, events.RuleTargetInput.fromText(
        `AWS DMS replication task ${task}: ${events.EventField.fromPath('$.detail.eventType')} - ` +
        `${events.EventField.fromPath('$.detail.detailMessage')}. ` +
        `Open ${events.EventField.fromPath('$.detail.resourceLink')} and read the task log (log group ` +
        `dms-tasks-${instance}), fix the cause, then resume or restart the task.`,
      )));
      policyResults.push(this.allowPublish('events.amazonaws.com', {
        ArnEquals: { 'aws:SourceArn': this.taskEventRule.ruleArn },
      }));
    }

    if (taskEvents === TaskEventNotification.EVENT_SUBSCRIPTION || taskEvents === TaskEventNotification.BOTH) {
      const added = this.allowPublish('dms.amazonaws.com', {
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        ArnLike: {
          'aws:SourceArn': stack.formatArn({ service: 'dms', resource: 'es', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
        },
      });
      policyResults.push(added);
      this.eventSubscription = new dms.CfnEventSubscription(this, 'EventSubscription', {
        subscriptionName: Names.uniqueResourceName(this, { maxLength: 100, separator: '-' }),
        snsTopicArn: this.topic.topicArn,
        sourceType: 'replication-task',
        sourceIds: [task],
        eventCategories: ['failure', 'state change'],
        enabled: true,
      });
      // DMS must be allowed to publish before it starts delivering
      const topicPolicy = this.topic.node.tryFindChild('Policy');
      if (topicPolicy) {
        this.eventSubscription.node.addDependency(topicPolicy);
      }
      // DMS rejects a subscription whose source does not exist yet: wait for a task of the same app
      const taskResource = Construct.isConstruct(migration) ? migration.node.defaultChild : undefined;
      if (taskResource && CfnResource.isCfnResource(taskResource)) {
        this.eventSubscription.node.addDependency(taskResource);
      }
    }

    if (policyResults.some((added) => !added)) {
      Annotations.of(this).addWarningV2('cdk-neon-migration:monitoring:importedTopic',
        'notificationTopic is imported, so its access policy cannot be changed here: allow cloudwatch.amazonaws.com, ' +
        'events.amazonaws.com and dms.amazonaws.com to sns:Publish to it (and to use its KMS key), or notifications are dropped.');
    }
  }

  /** The alarms of this construct, e.g. for `MigrationDashboard.addAlarmStatus`. */
  public get alarms(): cloudwatch.IAlarm[] {
    return [this.cdcLatencySourceAlarm, this.cdcLatencyTargetAlarm, this.freeStorageAlarm, this.cpuUtilizationAlarm];
  }

  private allowPublish(service: string, conditions: Record<string, Record<string, unknown>>): boolean {
    return this.topic.addToResourcePolicy(new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal(service)],
      actions: ['sns:Publish'],
      resources: [this.topic.topicArn],
      conditions,
    })).statementAdded;
  }
}

/**
 * An EventBridge target publishing to an SNS topic without the unconditional topic-policy
 * statement `aws-events-targets.SnsTopic` adds: `MigrationAlarms` adds one limited to its rule.
 */
class TopicTarget implements events.IRuleTarget {
  constructor(private readonly topic: sns.ITopic, private readonly input: events.RuleTargetInput) {}

  public bind(): events.RuleTargetConfig {
    return { arn: this.topic.topicArn, input: this.input };
  }
}

function validateProps(latency: Duration, periods: number, freeStorage: Size, allocated: Size | undefined, cpu: number): void {
  const latencySeconds = latency.toSeconds({ integral: false });
  if (!Token.isUnresolved(latencySeconds) && latencySeconds < 1) {
    throw new Error(`cdcLatencyThreshold must be at least 1 second, got ${latency.toHumanString()}`);
  }
  if (!Token.isUnresolved(periods) && (!Number.isInteger(periods) || periods < 1)) {
    throw new Error(`cdcLatencyEvaluationPeriods must be a whole number of at least 1, got ${periods}`);
  }
  const freeBytes = freeStorage.toBytes();
  if (!Token.isUnresolved(freeBytes) && freeBytes <= 0) {
    throw new Error('freeStorageThreshold must be larger than 0, e.g. Size.gibibytes(10)');
  }
  if (allocated && !Token.isUnresolved(freeBytes) && !Token.isUnresolved(allocated.toBytes()) && freeBytes >= allocated.toBytes()) {
    throw new Error(
      `freeStorageThreshold (${describeSize(freeStorage)}) must be smaller than allocatedStorage (${describeSize(allocated)}), ` +
      'or the alarm is always on: lower the threshold',
    );
  }
  if (!Token.isUnresolved(cpu) && (cpu <= 0 || cpu >= 100)) {
    throw new Error(`cpuUtilizationThresholdPercent must be between 0 and 100 (exclusive), got ${cpu}`);
  }
}

function describeSize(size: Size): string {
  const bytes = size.toBytes();
  if (Token.isUnresolved(bytes)) {
    return 'the threshold';
  }
  const gib = bytes / 1024 ** 3;
  return Number.isInteger(gib) ? `${gib} GiB` : `${bytes} bytes`;
}
