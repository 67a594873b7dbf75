import { Annotations, CfnOutput, CfnWaitCondition, CustomResource, Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct, IDependable } from 'constructs';
import { checkInteger, commonProperties, taskSourceEngine } from './check-properties';
import { DEFAULT_DISTRIBUTED_CONCURRENCY, DistributedVerification, DistributedVerificationOptions } from './distributed-verification';
import { FidelityCheckForTaskOptions, FidelityCheckProps, FidelitySourceEngine } from './fidelity-check';
import { FIDELITY_METRICS_NAMESPACE, FidelityProvider } from './fidelity-provider';
import { taskCheckInputs } from './task-defaults';
import { recordVerificationSessions } from './verification-sessions';
import { VERIFICATION_TYPE } from '../fidelity/kinds';
import { normalizeInstanceIdentifier } from '../metrics/identifiers';
import { DmsMetrics } from '../metrics/metrics';
import { DmsMigrationTask } from '../migration/migration-task';
import { refuseEndpointInPassword } from '../neon/credential-forms';
import { completeSecretArn } from '../secrets/complete-arn';
import { MigrationType } from '../task/migration-type';

/** Tables `verify` compares at the same time by default (`concurrency`). */
const DEFAULT_VERIFY_CONCURRENCY = 4;

/** Settings of the comparison itself, shared by the props and the `forTask` options. */
export interface VerificationOptions {
  /**
   * Fail the deployment when a table differs, is missing or cannot be read.
   *
   * @default true
   */
  readonly failOnDifference?: boolean;

  /**
   * Differing keys listed per table (1–100).
   *
   * @default 20
   */
  readonly maxDifferences?: number;

  /**
   * Compare NUMERIC values by value (`1.5` equals `1.50`), since DMS may create target columns with
   * another scale. `false` compares the scale too.
   *
   * @default true
   */
  readonly normalizeNumericScale?: boolean;

  /**
   * Tables compared at the same time (each uses one connection per database).
   *
   * @default 4
   */
  readonly concurrency?: number;

  /**
   * During CDC (see `cdcTaskArn`): time added to the task's replication latency before each
   * re-check of the rows that differ (0–5 minutes).
   *
   * @default Duration.seconds(10)
   */
  readonly recheckMargin?: Duration;

  /**
   * During CDC (see `cdcTaskArn`): re-checks of the rows that differ, at most (1–10). Rows the
   * source changed again in every re-check are reported as unsettled, not as differences. Each
   * round waits the latency plus `recheckMargin`: the whole verification must still fit in the
   * Lambda function's 15 minutes.
   *
   * @default 3
   */
  readonly recheckRounds?: number;

  /**
   * Compare in a Step Functions state machine that cuts the tables into units (large tables into
   * key ranges) and fans them out to workers that resume where their time budget ran out, instead
   * of in one Lambda invocation (15 minutes). See docs/production-size.md.
   *
   * @default - one Lambda invocation compares every table (at most 15 minutes)
   */
  readonly distributed?: DistributedVerificationOptions;
}

/**
 * Properties of a `MigrationVerification`.
 */
export interface MigrationVerificationProps extends FidelityCheckProps, VerificationOptions {
  /**
   * The target's credentials secret (`NeonTargetEndpoint.clientCredentialsSecret`; the function
   * connects with SNI, so not the DMS endpoint's `credentialsSecret`).
   */
  readonly targetSecret: secretsmanager.ISecret;

  /**
   * The target database.
   *
   * @default - the `dbname` of `targetSecret`
   */
  readonly targetDatabaseName?: string;

  /** The `TaskIdentifier` dimension of the `MismatchedRows` and `RowsCompared` metrics. */
  readonly taskIdentifier: string;

  /**
   * What must finish before the comparison runs: the `completion` of a task lifecycle with
   * `waitForCompletion: true`, which completes when the full load finished.
   *
   * @default - no dependency: the comparison runs as soon as its inputs exist
   */
  readonly runAfter?: IDependable[];

  /**
   * Verify while this replication task applies changes (CDC): a row that differs is read again on
   * both sides once the task's latency (`CDCLatencySource` + `CDCLatencyTarget`, from CloudWatch)
   * and `recheckMargin` have passed; rows that arrived meanwhile are not reported, rows still
   * differing whose source row did not change fail the verification. Needs
   * `cdcReplicationInstanceIdentifier` (the metrics' other dimension).
   *
   * @default - no re-check: every difference counts (`forTask` sets this for a task with ongoing
   * replication on a replication instance)
   */
  readonly cdcTaskArn?: string;

  /**
   * The identifier of the replication instance `cdcTaskArn` runs on.
   *
   * @default - none; required with `cdcTaskArn`
   */
  readonly cdcReplicationInstanceIdentifier?: string;
}

/** Options of `MigrationVerification.forTask`. */
export interface MigrationVerificationForTaskOptions extends VerificationOptions, FidelityCheckForTaskOptions {
  /**
   * The task whose full load is verified. It needs `waitForCompletion: true`: otherwise its
   * lifecycle resource completes when the task started, and the comparison would run during the
   * load, so `forTask` throws. With `schemaCopy`, the comparison also waits for the steps after the
   * load (`PostgresSchemaCopy.afterLoadCompletion`): with CDC they keep the task stopped until the
   * indexes exist, then resume it.
   */
  readonly task: DmsMigrationTask;

  /**
   * The target's credentials secret (`NeonTargetEndpoint.clientCredentialsSecret`).
   *
   * @default - the client credentials secret of the task's `NeonTargetEndpoint`
   */
  readonly targetSecret?: secretsmanager.ISecret;
}

/**
 * Compares every table of the task's mappings between the source and Neon after the full load, at
 * deploy time: row counts and in-database checksums over primary-key ranges, narrowed down to the
 * differing keys. Publishes `MismatchedRows` and `RowsCompared` per table (namespace
 * `CdkNeonMigration`, dimensions `TaskIdentifier` and `Table`), returns a summary, and fails the
 * deployment on any difference unless `failOnDifference` is false.
 *
 * The comparison runs when the resource is created and whenever its properties change. It must
 * finish within the Lambda limit of 15 minutes; verify larger databases with the
 * `cdk-neon-migration verify` command. During CDC (`cdcTaskArn`, set by `forTask` for a task with
 * ongoing replication), differing rows are re-checked after the task's latency and only those that
 * persist count.
 *
 * @example
 * import * as rds from 'aws-cdk-lib/aws-rds';
 * import { DmsMigrationTask, MigrationVerification, NatEgressForReplication, NeonTargetEndpoint } from 'cdk-neon-migration';
 *
 * declare const migration: DmsMigrationTask;
 * declare const network: NatEgressForReplication;
 * declare const database: rds.DatabaseInstance;
 * declare const neon: NeonTargetEndpoint;
 *
 * MigrationVerification.forTask(this, 'Verification', {
 *   task: migration, // waitForCompletion: true
 *   network,
 *   sourceSecret: database.secret!,
 *   sourceDatabaseName: 'app',
 *   targetSecret: neon.clientCredentialsSecret,
 * });
 */
export class MigrationVerification extends Construct {
  /**
   * A verification of `options.task`'s tables that runs after its full load. The task must have
   * `waitForCompletion: true`; without it this throws. Without the schema copy's steps after the
   * load (which wait for the rest of a load longer than `maxWait`), it runs once `maxWait` passed
   * and warns so at synth (`cdk-neon-migration:verificationAtMaxWait`).
   */
  public static forTask(scope: Construct, id: string, options: MigrationVerificationForTaskOptions): MigrationVerification {
    const task = options.task;
    if (!task.waitForCompletion) {
      throw new Error(`MigrationVerification.forTask: the task ${task.node.path} does not set waitForCompletion, so its lifecycle `
        + 'completes as soon as the task has started and the comparison would run while the full load is still copying rows. '
        + 'Set waitForCompletion: true on the DmsMigrationTask (or create the MigrationVerification itself, with runAfter '
        + 'set to what completes after the load).');
    }
    const schemaCopy = task.schemaCopy;
    if (schemaCopy && !schemaCopy.after && task.migrationType === MigrationType.FULL_LOAD_AND_CDC) {
      throw new Error(`MigrationVerification.forTask: the task ${task.node.path} stops after its full load and waits for the schema copy's `
        + 'indexes step, which schemaCopy.deployAfterLoadSteps: false leaves to you: the changes made during the load are not applied until you '
        + 'resume it. Verify in a later deployment, once the task runs again, or remove deployAfterLoadSteps.');
    }
    // under CDC, on a replication instance: differences are re-checked after the task's latency
    const recheck = task.migrationType !== MigrationType.FULL_LOAD && task.replicationTask !== undefined;
    const inputs = taskCheckInputs('MigrationVerification.forTask', task, options);
    if (!inputs.targetSecret) {
      throw new Error('MigrationVerification.forTask: the task\'s target is not a NeonTargetEndpoint, so its credentials are not known: set targetSecret.');
    }
    const verification = new MigrationVerification(scope, id, {
      ...options,
      network: inputs.network,
      sourceSecret: inputs.sourceSecret,
      sourceDatabaseName: inputs.sourceDatabaseName,
      targetSecret: inputs.targetSecret,
      sourceEngine: options.sourceEngine ?? taskSourceEngine(task),
      tableMappings: task.tableMappings,
      taskIdentifier: task.taskIdentifier,
      // after the full load, and after the schema copy's steps after it: with CDC they stop the task
      // until the indexes exist and resume it, and only then are the changes made during the load applied
      runAfter: [task.lifecycle.completion, ...(schemaCopy ? [schemaCopy.afterLoadCompletion] : [])],
      ...(recheck ? { cdcTaskArn: task.taskArn, cdcReplicationInstanceIdentifier: task.replicationInstanceIdentifier } : {}),
    });
    // the preflight of the same task counts these sessions on the target (targetCapacity.verificationSessions)
    recordVerificationSessions(task, options.distributed
      ? { count: options.distributed.maxConcurrency ?? DEFAULT_DISTRIBUTED_CONCURRENCY, property: 'distributed.maxConcurrency', path: verification.node.path }
      : { count: options.concurrency ?? DEFAULT_VERIFY_CONCURRENCY, property: 'concurrency', path: verification.node.path });
    if (!schemaCopy?.after) {
      // only the schema copy's steps after the load wait for a load that outlasts maxWait (up to 12 hours)
      Annotations.of(verification).addWarningV2('cdk-neon-migration:verificationAtMaxWait',
        `The verification runs when the deployment stops waiting for the full load of ${task.node.path}: when the load ends, or when the task's maxWait `
        + '(default 50 minutes) passed. A load longer than maxWait is still running then: the verification finds its rows missing and fails the '
        + 'deployment, which rolls back. Set maxWait above the load\'s length (up to 11 hours 45 minutes), or add schemaCopy, whose steps after '
        + 'the load wait for the rest of it; acknowledge this warning when the load fits in maxWait.');
    }
    if (task.migrationType !== MigrationType.FULL_LOAD && !recheck) {
      Annotations.of(verification).addWarningV2('cdk-neon-migration:verificationDuringCdc',
        `The task's migration type is ${task.migrationType} and it runs on DMS Serverless, whose latency metrics the re-check cannot read: changes keep arriving while the comparison runs, so rows changed meanwhile may show as differences. Verify during a write pause, or set failOnDifference: false.`);
    }
    return verification;
  }

  /** The custom resource running the comparison (with `distributed`: starting it). */
  public readonly resource: CustomResource;
  /** With `distributed`: the state machine that plans, fans out and reports the comparison. */
  public readonly stateMachine?: sfn.IStateMachine;
  /** With `distributed`: the function comparing the units of work. */
  public readonly workerFunction?: lambda.IFunction;
  /** With `distributed` and `wait`: the wait condition the report signals (the deployment waits for it). */
  public readonly waitCondition?: CfnWaitCondition;
  private readonly distributed?: DistributedVerification;
  /** The `TaskIdentifier` dimension of the metrics. */
  public readonly taskIdentifier: string;

  constructor(scope: Construct, id: string, props: MigrationVerificationProps) {
    super(scope, id);

    refuseEndpointInPassword(props.targetSecret, 'MigrationVerification', 'targetSecret', 'The verification function (node-postgres, with the host name) sends SNI');
    checkInteger('MigrationVerification', 'maxDifferences', props.maxDifferences, 1, 100);
    checkInteger('MigrationVerification', 'concurrency', props.concurrency, 1, 16);
    if (!Token.isUnresolved(props.taskIdentifier) && props.taskIdentifier.trim() === '') {
      throw new Error('MigrationVerification: taskIdentifier is empty; set it to the replication task identifier (the metrics dimension).');
    }
    this.taskIdentifier = props.taskIdentifier;
    checkInteger('MigrationVerification', 'recheckRounds', props.recheckRounds, 1, 10);
    const margin = props.recheckMargin?.toSeconds();
    if (margin !== undefined && !Token.isUnresolved(margin) && (margin < 0 || margin > 300)) {
      throw new Error(`MigrationVerification: recheckMargin must be between 0 seconds and 5 minutes, got ${margin} seconds.`);
    }
    if ((props.cdcTaskArn === undefined) !== (props.cdcReplicationInstanceIdentifier === undefined)) {
      throw new Error(`MigrationVerification: ${props.cdcTaskArn === undefined ? 'cdcReplicationInstanceIdentifier' : 'cdcTaskArn'} is set without `
        + `${props.cdcTaskArn === undefined ? 'cdcTaskArn' : 'cdcReplicationInstanceIdentifier'}: the task's latency metrics need both dimensions. Set both, or neither.`);
    }
    if (props.cdcTaskArn === undefined && (props.recheckMargin !== undefined || props.recheckRounds !== undefined)) {
      throw new Error('MigrationVerification: recheckMargin and recheckRounds apply to a verification during CDC; set cdcTaskArn and cdcReplicationInstanceIdentifier too.');
    }

    const properties = {
      ...commonProperties(this, 'MigrationVerification', props),
      TargetSecretArn: completeSecretArn(this, props.targetSecret, 'targetSecret'),
      TargetDatabaseName: props.targetDatabaseName,
      TaskIdentifier: props.taskIdentifier,
      FailOnDifference: String(props.failOnDifference ?? true),
      MaxDifferences: props.maxDifferences !== undefined ? String(props.maxDifferences) : undefined,
      NormalizeNumericScale: String(props.normalizeNumericScale ?? true),
      Concurrency: props.concurrency !== undefined ? String(props.concurrency) : undefined,
      ...(props.cdcTaskArn !== undefined ? {
        RecheckInstanceIdentifier: normalizeInstanceIdentifier(props.cdcReplicationInstanceIdentifier!),
        RecheckTaskResourceId: DmsMetrics.taskResourceId(props.cdcTaskArn),
        RecheckMarginSeconds: String(margin ?? 10),
        RecheckRounds: String(props.recheckRounds ?? 3),
      } : {}),
    };
    if (props.distributed && props.sourceEngine === FidelitySourceEngine.MYSQL) {
      throw new Error('MigrationVerification: distributed verification compares PostgreSQL sources; a MySQL source is verified by one function '
        + '(remove distributed), or by the cdk-neon-migration verify command for a database that takes longer than 15 minutes.');
    }
    if (props.distributed) {
      this.distributed = new DistributedVerification(this, 'Distributed', {
        ...props.distributed,
        network: props.network,
        sourceSecret: props.sourceSecret,
        targetSecret: props.targetSecret,
        runProperties: { ...properties, Concurrency: undefined },
        taskIdentifier: props.taskIdentifier,
        readsLatencyMetrics: props.cdcTaskArn !== undefined,
        runAfter: props.runAfter,
      });
      this.resource = this.distributed.starter;
      this.stateMachine = this.distributed.stateMachine;
      this.workerFunction = this.distributed.workerFunction;
      this.waitCondition = this.distributed.condition;
    } else {
      const provider = FidelityProvider.of(this, props.network, props.sourceEngine);
      if (props.cdcTaskArn !== undefined) provider.grantLatencyMetrics();
      provider.grantSecret(props.sourceSecret);
      provider.grantSecret(props.targetSecret);
      this.resource = new CustomResource(this, 'Resource', {
        serviceToken: provider.serviceToken,
        resourceType: VERIFICATION_TYPE,
        properties: { Action: 'verify', ...properties },
      });
      if (props.runAfter && props.runAfter.length > 0) this.resource.node.addDependency(...props.runAfter);
    }

    new CfnOutput(this, 'Summary', {
      description: 'Data verification of the migrated tables',
      value: this.summary,
    });
  }

  /** `<n> of <m> table(s) match; <rows> row(s) compared, at least <k> differ.` */
  public get summary(): string {
    if (this.distributed) {
      return this.distributed.condition
        ? Token.asString(this.distributed.condition.attrData)
        : 'The verification runs on after the deployment: see the MismatchedTables metric and its alarm.';
    }
    return this.resource.getAttString('Summary');
  }

  /** Number of tables that differ (0 when the deployment succeeded with `failOnDifference`). */
  public get mismatchedTables(): string {
    if (this.distributed) {
      throw new Error('MigrationVerification.mismatchedTables: a distributed verification reports through its wait condition and the MismatchedTables metric; read summary, or metric(\'MismatchedTables\', ...) of the alarm.');
    }
    return this.resource.getAttString('MismatchedTables');
  }

  /**
   * A metric of the verification: `MismatchedRows` or `RowsCompared` of one table
   * (`schema.table` on the source).
   */
  public metric(metricName: string, table: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: FIDELITY_METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { TaskIdentifier: this.taskIdentifier, Table: table },
      statistic: cloudwatch.Stats.MAXIMUM,
      ...props,
    });
  }

  /** `MismatchedRows` of one table: rows known to differ (a lower bound when not all were listed). */
  public metricMismatchedRows(table: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('MismatchedRows', table, props);
  }
}

