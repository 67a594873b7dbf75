import { CustomResource, Lazy, Token } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { checkInteger, commonProperties, taskSourceEngine } from './check-properties';
import { FidelityCheckForTaskOptions, FidelityCheckProps } from './fidelity-check';
import { FidelityProvider } from './fidelity-provider';
import { taskCheckInputs } from './task-defaults';
import { verificationSessionsOf } from './verification-sessions';
import { unknownFindingCodes, unknownFindingCodesMessage } from '../fidelity/finding-codes';
import { PREFLIGHT_TYPE } from '../fidelity/kinds';
import { NeonComputeKeepAlive } from '../live/neon-compute';
import { DmsMigrationTask } from '../migration/migration-task';
import { refuseEndpointInPassword } from '../neon/credential-forms';
import { completeSecretArn } from '../secrets/complete-arn';
import { MigrationType } from '../task/migration-type';
import { LobMode, TargetTablePrepMode } from '../task/task-settings';

/**
 * Properties of a `MigrationPreflight`.
 */
export interface MigrationPreflightProps extends FidelityCheckProps {
  /**
   * The target's credentials secret (as `NeonTargetEndpoint.clientCredentialsSecret` writes it:
   * `username`, `password`, `host`, `port`, `dbname`; the function connects with SNI, so not the
   * DMS endpoint's `credentialsSecret`), to compare pre-created target tables with the
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

  /**
   * Check that the target can take the migration: its free connection slots against the sessions
   * the task and the verification open (`TARGET_CONNECTIONS`), and with a Neon compute kept active,
   * the selected tables' size against the branch's storage limit (`TARGET_STORAGE`). Needs
   * `targetSecret`.
   *
   * @default - capacity not checked
   */
  readonly targetCapacity?: PreflightCapacityOptions;
}

/**
 * The preflight's capacity checks of the target: connection slots and the Neon branch's storage.
 */
export interface PreflightCapacityOptions {
  /**
   * The task's `MaxFullLoadSubTasks`: tables loaded at once.
   *
   * @default 8 (`forTask`: the task's setting)
   */
  readonly maxFullLoadSubTasks?: number;

  /**
   * The task's `ParallelLoadThreads` (0: one thread per table).
   *
   * @default 0
   */
  readonly parallelLoadThreads?: number;

  /**
   * Validation threads of the task (`ThreadCount` with validation on, else 0).
   *
   * @default 0 (`forTask`: the task's setting)
   */
  readonly validationThreads?: number;

  /**
   * Sessions the verification opens on the target (`MigrationVerification`'s `concurrency`, or with
   * `distributed` its `maxConcurrency`).
   *
   * @default 0 (`forTask`: the sessions of the task's verification created with `MigrationVerification.forTask`)
   */
  readonly verificationSessions?: number;

  /**
   * The Neon compute kept active for the migration: its branch's size and limit, read from the Neon
   * API at deploy time outside the VPC, are compared with the selected tables' size.
   *
   * @default - the storage limit is not checked (`forTask`: the task's `neonCompute`); an info finding gives the sizes
   */
  readonly neonCompute?: NeonComputeKeepAlive;
}

/**
 * Options of `MigrationPreflight.forTask`: the task gives the table mappings, migration type and
 * LOB settings.
 */
export interface MigrationPreflightForTaskOptions extends FidelityCheckForTaskOptions {
  /** The task to check before it starts. */
  readonly task: DmsMigrationTask;

  /**
   * The target's credentials secret, to check pre-created tables (DO_NOTHING) and the target's capacity.
   *
   * @default - the client credentials secret of the task's `NeonTargetEndpoint`; target tables are not
   * checked for another target
   */
  readonly targetSecret?: secretsmanager.ISecret;

  /**
   * Codes of blocking findings that do not fail the deployment, e.g. `['NO_PRIMARY_KEY']`. A code
   * no preflight finding has is an error.
   *
   * @default - every blocking finding fails the deployment
   */
  readonly acknowledgedFindings?: string[];

  /**
   * Check the target's capacity for the task (`MigrationPreflightProps.targetCapacity`); the task's
   * subtasks, validation threads and `neonCompute` fill what is left out. Needs `targetSecret`.
   *
   * @default - capacity not checked
   */
  readonly targetCapacity?: PreflightCapacityOptions;
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
   * task starts only after the preflight passed. With the task's `schemaCopy` (or
   * `schemaConversion`) the preflight runs after the copy's pre step (the conversion), so that it
   * checks the target tables that step created rather than advising to create them.
   */
  public static forTask(scope: Construct, id: string, options: MigrationPreflightForTaskOptions): MigrationPreflight {
    const task = options.task;
    const metadata = taskTargetMetadata(task);
    const inputs = taskCheckInputs('MigrationPreflight.forTask', task, options);
    const preflight = new MigrationPreflight(scope, id, {
      network: inputs.network,
      sourceSecret: inputs.sourceSecret,
      sourceDatabaseName: inputs.sourceDatabaseName,
      sourceEngine: options.sourceEngine ?? taskSourceEngine(task),
      sourceCaBundle: options.sourceCaBundle,
      targetSecret: inputs.targetSecret,
      targetDatabaseName: options.targetDatabaseName,
      acknowledgedFindings: options.acknowledgedFindings,
      tableMappings: task.tableMappings,
      migrationType: task.migrationType,
      lobMode: task.settings.lobMode,
      lobMaxSizeKb: metadata.lobMaxSizeKb,
      targetTablePrepMode: task.settings.targetTablePrepMode,
      targetCapacity: options.targetCapacity ? {
        ...taskCapacity(task),
        ...options.targetCapacity,
        // the task's verification (MigrationVerification.forTask), created before or after this preflight
        verificationSessions: options.targetCapacity.verificationSessions
          ?? Token.asNumber(Lazy.any({ produce: () => verificationSessionsOf(task)?.count })),
      } : undefined,
    });
    const given = options.targetCapacity?.verificationSessions;
    if (given !== undefined && !Token.isUnresolved(given)) {
      preflight.node.addValidation({
        validate: () => {
          const verification = verificationSessionsOf(task);
          return verification && verification.count > given
            ? [`MigrationPreflight.forTask: targetCapacity.verificationSessions is ${given}, but the task's verification ${verification.path} opens up to `
              + `${verification.count} sessions on each database (${verification.property}): the preflight would count too few on the target. `
              + `Set verificationSessions to at least ${verification.count}, or leave it out to take the verification's.`]
            : [];
        },
      });
    }
    // the target tables it checks are those the schema copy or conversion creates before the start
    if (task.schemaCopy) preflight.node.addDependency(task.schemaCopy.before);
    if (task.schemaConversion) preflight.node.addDependency(task.schemaConversion.completion);
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

    refuseEndpointInPassword(props.targetSecret, 'MigrationPreflight', 'targetSecret', 'The preflight function (node-postgres, with the host name) sends SNI');
    const capacity = props.targetCapacity;
    if (capacity && !props.targetSecret) {
      throw new Error('MigrationPreflight: targetCapacity reads the free connection slots on the target: set targetSecret (e.g. NeonTargetEndpoint.clientCredentialsSecret).');
    }
    checkInteger('MigrationPreflight', 'targetCapacity.maxFullLoadSubTasks', capacity?.maxFullLoadSubTasks, 1, 49);
    checkInteger('MigrationPreflight', 'targetCapacity.parallelLoadThreads', capacity?.parallelLoadThreads, 0, 200);
    checkInteger('MigrationPreflight', 'targetCapacity.validationThreads', capacity?.validationThreads, 0, 200);
    checkInteger('MigrationPreflight', 'targetCapacity.verificationSessions', capacity?.verificationSessions, 0, 64);

    const provider = FidelityProvider.of(this, props.network, props.sourceEngine);
    provider.grantSecret(props.sourceSecret);
    if (props.targetSecret) provider.grantSecret(props.targetSecret);

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: PREFLIGHT_TYPE,
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
        TargetCapacity: capacity ? {
          MaxFullLoadSubTasks: capacity.maxFullLoadSubTasks,
          ParallelLoadThreads: capacity.parallelLoadThreads,
          ValidationThreads: capacity.validationThreads,
          VerificationSessions: capacity.verificationSessions,
          NeonBranchId: capacity.neonCompute?.branchId,
          NeonBranchSizeBytes: capacity.neonCompute?.branchLogicalSizeBytes,
          NeonBranchLimitBytes: capacity.neonCompute?.branchLogicalSizeLimitBytes,
          NeonBranchLimitSource: capacity.neonCompute?.branchLogicalSizeLimitSource,
        } : undefined,
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

/** The task's full-load subtasks and validation threads (from its settings document) and its `neonCompute`. */
function taskCapacity(task: DmsMigrationTask): PreflightCapacityOptions {
  const json = task.settings.toJson();
  const settings = Token.isUnresolved(json) ? {} : JSON.parse(json) as {
    FullLoadSettings?: { MaxFullLoadSubTasks?: number };
    ValidationSettings?: { EnableValidation?: boolean; ThreadCount?: number };
  };
  const validation = settings.ValidationSettings;
  return {
    maxFullLoadSubTasks: settings.FullLoadSettings?.MaxFullLoadSubTasks,
    validationThreads: validation?.EnableValidation ? validation.ThreadCount ?? 5 : 0,
    neonCompute: task.neonCompute,
  };
}

/** The task's `TargetMetadata` LOB size, read from its settings document. */
function taskTargetMetadata(task: DmsMigrationTask): { lobMaxSizeKb?: number } {
  const json = task.settings.toJson();
  if (Token.isUnresolved(json)) return {};
  const settings = JSON.parse(json) as { TargetMetadata?: { LobMaxSize?: number; LimitedSizeLobMode?: boolean } };
  const metadata = settings.TargetMetadata ?? {};
  return { lobMaxSizeKb: metadata.LimitedSizeLobMode ? metadata.LobMaxSize : undefined };
}
