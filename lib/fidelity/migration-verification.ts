import { Annotations, CfnOutput, CustomResource, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IDependable } from 'constructs';
import { checkInteger, commonProperties } from './check-properties';
import { FidelityCheckProps } from './fidelity-check';
import { FIDELITY_METRICS_NAMESPACE, FidelityProvider } from './fidelity-provider';
import { IReplicationNetwork } from '../core/interfaces';
import { completeSecretArn } from '../secrets/complete-arn';
import { DmsMigrationTask } from '../task/migration-task';
import { MigrationType } from '../task/migration-type';

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
}

/**
 * Properties of a `MigrationVerification`.
 */
export interface MigrationVerificationProps extends FidelityCheckProps, VerificationOptions {
  /** The target's credentials secret (`NeonTargetEndpoint.credentialsSecret`). */
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
}

/** Options of `MigrationVerification.forTask`. */
export interface MigrationVerificationForTaskOptions extends VerificationOptions {
  /**
   * The task whose full load is verified. It needs `waitForCompletion: true`: otherwise its
   * lifecycle resource completes when the task started, and the comparison would run during the
   * load, so `forTask` throws.
   */
  readonly task: DmsMigrationTask;

  /** Where the check runs (see `FidelityCheckProps.network`). */
  readonly network: IReplicationNetwork;

  /** The source database's secret (RDS JSON format). */
  readonly sourceSecret: secretsmanager.ISecret;

  /** The source database to read. */
  readonly sourceDatabaseName: string;

  /**
   * PEM bundle to verify the source's TLS certificate with.
   *
   * @default - TLS without certificate verification
   */
  readonly sourceCaBundle?: string;

  /** The target's credentials secret (`NeonTargetEndpoint.credentialsSecret`). */
  readonly targetSecret: secretsmanager.ISecret;

  /**
   * The target database.
   *
   * @default - the `dbname` of `targetSecret`
   */
  readonly targetDatabaseName?: string;
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
 * `cdk-neon-migration verify` command.
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
 *   targetSecret: neon.credentialsSecret,
 * });
 */
export class MigrationVerification extends Construct {
  /**
   * A verification of `options.task`'s tables that runs after its full load. The task must have
   * `waitForCompletion: true`; without it this throws.
   */
  public static forTask(scope: Construct, id: string, options: MigrationVerificationForTaskOptions): MigrationVerification {
    const task = options.task;
    if (!task.waitForCompletion) {
      throw new Error(`MigrationVerification.forTask: the task ${task.node.path} does not set waitForCompletion, so its lifecycle `
        + 'completes as soon as the task has started and the comparison would run while the full load is still copying rows. '
        + 'Set waitForCompletion: true on the DmsMigrationTask (or create the MigrationVerification itself, with runAfter '
        + 'set to what completes after the load).');
    }
    const verification = new MigrationVerification(scope, id, {
      ...options,
      tableMappings: task.tableMappings,
      taskIdentifier: task.taskIdentifier,
      runAfter: [task.lifecycle.completion],
    });
    if (task.migrationType !== MigrationType.FULL_LOAD) {
      Annotations.of(verification).addWarningV2('cdk-neon-migration:verificationDuringCdc',
        `The task's migration type is ${task.migrationType}: changes keep arriving while the comparison runs, so rows changed meanwhile may show as differences. Verify during a write pause, or set failOnDifference: false.`);
    }
    return verification;
  }

  /** The custom resource running the comparison. */
  public readonly resource: CustomResource;
  /** The `TaskIdentifier` dimension of the metrics. */
  public readonly taskIdentifier: string;

  constructor(scope: Construct, id: string, props: MigrationVerificationProps) {
    super(scope, id);

    checkInteger('MigrationVerification', 'maxDifferences', props.maxDifferences, 1, 100);
    checkInteger('MigrationVerification', 'concurrency', props.concurrency, 1, 16);
    if (!Token.isUnresolved(props.taskIdentifier) && props.taskIdentifier.trim() === '') {
      throw new Error('MigrationVerification: taskIdentifier is empty; set it to the replication task identifier (the metrics dimension).');
    }
    this.taskIdentifier = props.taskIdentifier;

    const provider = FidelityProvider.of(this, props.network);
    provider.grantSecret(props.sourceSecret);
    provider.grantSecret(props.targetSecret);

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::NeonMigrationVerification',
      properties: {
        Action: 'verify',
        ...commonProperties(this, 'MigrationVerification', props),
        TargetSecretArn: completeSecretArn(this, props.targetSecret, 'targetSecret'),
        TargetDatabaseName: props.targetDatabaseName,
        TaskIdentifier: props.taskIdentifier,
        FailOnDifference: String(props.failOnDifference ?? true),
        MaxDifferences: props.maxDifferences !== undefined ? String(props.maxDifferences) : undefined,
        NormalizeNumericScale: String(props.normalizeNumericScale ?? true),
        Concurrency: props.concurrency !== undefined ? String(props.concurrency) : undefined,
      },
    });
    if (props.runAfter && props.runAfter.length > 0) this.resource.node.addDependency(...props.runAfter);

    new CfnOutput(this, 'Summary', {
      description: 'Data verification of the migrated tables',
      value: this.summary,
    });
  }

  /** `<n> of <m> table(s) match; <rows> row(s) compared, at least <k> differ.` */
  public get summary(): string {
    return this.resource.getAttString('Summary');
  }

  /** Number of tables that differ (0 when the deployment succeeded with `failOnDifference`). */
  public get mismatchedTables(): string {
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

