import { CustomResource, Token } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { checkInteger, commonProperties } from './check-properties';
import { FidelityCheckProps } from './fidelity-check';
import { FidelityProvider } from './fidelity-provider';
import { unknownFindingCodes, unknownFindingCodesMessage } from './finding-codes';
import { IReplicationNetwork } from '../core/interfaces';
import { completeSecretArn } from '../secrets/complete-arn';
import { DmsMigrationTask } from '../task/migration-task';
import { MigrationType } from '../task/migration-type';
import { LobMode, TargetTablePrepMode } from '../task/task-settings';

/**
 * Properties of a `MigrationPreflight`.
 */
export interface MigrationPreflightProps extends FidelityCheckProps {
  /**
   * The target's credentials secret (as `NeonTargetEndpoint.credentialsSecret` writes it:
   * `username`, `password`, `host`, `port`, `dbname`), to compare pre-created target tables with the
   * source when `targetTablePrepMode` is `DO_NOTHING`.
   *
   * @default - target tables are not checked
   */
  readonly targetSecret?: secretsmanager.ISecret;

  /**
   * The target database.
   *
   * @default - the `dbname` of `targetSecret`
   */
  readonly targetDatabaseName?: string;

  /**
   * The task's migration type: CDC adds the replication checks (`wal_level`, slots, privileges,
   * tables without primary key).
   *
   * @default MigrationType.FULL_LOAD
   */
  readonly migrationType?: MigrationType;

  /**
   * The task's LOB mode (`TaskSettings.lobMode`).
   *
   * @default LobMode.LIMITED
   */
  readonly lobMode?: LobMode;

  /**
   * The task's `lobMaxSizeKb` in `LobMode.LIMITED`: larger values stored in LOB columns are reported.
   *
   * @default 32
   */
  readonly lobMaxSizeKb?: number;

  /**
   * The task's target table preparation mode.
   *
   * @default TargetTablePrepMode.DO_NOTHING
   */
  readonly targetTablePrepMode?: TargetTablePrepMode;

  /**
   * Codes of blocking findings that do not fail the deployment, e.g. `['NO_PRIMARY_KEY']`. A code
   * no preflight finding has is an error at synth time.
   *
   * @default - every blocking finding fails the deployment
   */
  readonly acknowledgedFindings?: string[];
}

/**
 * Options of `MigrationPreflight.forTask`: the task gives the table mappings, migration type and
 * LOB settings.
 */
export interface MigrationPreflightForTaskOptions {
  /** The task to check before it starts. */
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

  /**
   * The target's credentials secret, to check pre-created tables (DO_NOTHING).
   *
   * @default - target tables are not checked
   */
  readonly targetSecret?: secretsmanager.ISecret;

  /**
   * The target database.
   *
   * @default - the `dbname` of `targetSecret`
   */
  readonly targetDatabaseName?: string;

  /**
   * Codes of blocking findings that do not fail the deployment, e.g. `['NO_PRIMARY_KEY']`. A code
   * no preflight finding has is an error.
   *
   * @default - every blocking finding fails the deployment
   */
  readonly acknowledgedFindings?: string[];
}

/**
 * Checks the source (and pre-created target tables) against the DMS task's settings at deploy
 * time, before the task starts: LOB columns DMS would drop or truncate, tables without primary key
 * under CDC, unsupported types, logical replication settings and privileges (see the `preflight`
 * finding codes). Blocking findings fail the deployment with their list, unless acknowledged.
 *
 * Runs in the VPC through the stack's fidelity provider. Make the task start wait for it with
 * `migration.lifecycle.addStartDependency(preflight)`, or create it with `MigrationPreflight.forTask`.
 *
 * @example
 * import * as rds from 'aws-cdk-lib/aws-rds';
 * import { DmsMigrationTask, MigrationPreflight, NatEgressForReplication } from 'cdk-neon-migration';
 *
 * declare const migration: DmsMigrationTask;
 * declare const network: NatEgressForReplication;
 * declare const database: rds.DatabaseInstance;
 *
 * const preflight = MigrationPreflight.forTask(this, 'Preflight', {
 *   task: migration,
 *   network,
 *   sourceSecret: database.secret!,
 *   sourceDatabaseName: 'app',
 * });
 */
export class MigrationPreflight extends Construct {
  /**
   * A preflight of `options.task` with its table mappings, migration type and LOB settings; the
   * task starts only after the preflight passed.
   */
  public static forTask(scope: Construct, id: string, options: MigrationPreflightForTaskOptions): MigrationPreflight {
    const task = options.task;
    const metadata = taskTargetMetadata(task);
    const preflight = new MigrationPreflight(scope, id, {
      network: options.network,
      sourceSecret: options.sourceSecret,
      sourceDatabaseName: options.sourceDatabaseName,
      sourceCaBundle: options.sourceCaBundle,
      targetSecret: options.targetSecret,
      targetDatabaseName: options.targetDatabaseName,
      acknowledgedFindings: options.acknowledgedFindings,
      tableMappings: task.tableMappings,
      migrationType: task.migrationType,
      lobMode: task.settings.lobMode,
      lobMaxSizeKb: metadata.lobMaxSizeKb,
      targetTablePrepMode: task.settings.targetTablePrepMode,
    });
    task.lifecycle.addStartDependency(preflight);
    return preflight;
  }

  /** The custom resource running the preflight. */
  public readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: MigrationPreflightProps) {
    super(scope, id);

    const lobMode = props.lobMode ?? LobMode.LIMITED;
    checkInteger('MigrationPreflight', 'lobMaxSizeKb', props.lobMaxSizeKb, 1, 102_400);
    if (props.lobMaxSizeKb !== undefined && lobMode !== LobMode.LIMITED) {
      throw new Error(`MigrationPreflight: lobMaxSizeKb applies only to LobMode.LIMITED (lobMode is ${lobMode}); remove it or set lobMode: LobMode.LIMITED.`);
    }
    const unknown = unknownFindingCodes(props.acknowledgedFindings ?? [], (code) => Token.isUnresolved(code));
    if (unknown.length > 0) throw new Error(`MigrationPreflight: ${unknownFindingCodesMessage(unknown)}`);

    const provider = FidelityProvider.of(this, props.network);
    provider.grantSecret(props.sourceSecret);
    if (props.targetSecret) provider.grantSecret(props.targetSecret);

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::NeonMigrationPreflight',
      properties: {
        Action: 'preflight',
        ...commonProperties(this, 'MigrationPreflight', props),
        TargetSecretArn: props.targetSecret ? completeSecretArn(this, props.targetSecret, 'targetSecret') : undefined,
        TargetDatabaseName: props.targetDatabaseName,
        MigrationType: props.migrationType ?? MigrationType.FULL_LOAD,
        LobMode: lobMode,
        LobMaxSizeKb: lobMode === LobMode.LIMITED ? String(props.lobMaxSizeKb ?? 32) : undefined,
        TargetTablePrepMode: props.targetTablePrepMode ?? TargetTablePrepMode.DO_NOTHING,
        AcknowledgedFindings: props.acknowledgedFindings,
      },
    });
  }

  /** Blocking findings, acknowledged ones included (the deployment failed otherwise). */
  public get blockingFindings(): string {
    return this.resource.getAttString('Blocking');
  }

  /** Warnings found. */
  public get warnings(): string {
    return this.resource.getAttString('Warnings');
  }
}

/** The task's `TargetMetadata` LOB size, read from its settings document. */
function taskTargetMetadata(task: DmsMigrationTask): { lobMaxSizeKb?: number } {
  const json = task.settings.toJson();
  if (Token.isUnresolved(json)) return {};
  const settings = JSON.parse(json) as { TargetMetadata?: { LobMaxSize?: number; LimitedSizeLobMode?: boolean } };
  const metadata = settings.TargetMetadata ?? {};
  return { lobMaxSizeKb: metadata.LimitedSizeLobMode ? metadata.LobMaxSize : undefined };
}
