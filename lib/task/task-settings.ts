import { Duration, Token } from 'aws-cdk-lib';

/** What DMS does to target tables before the full load (`FullLoadSettings.TargetTablePrepMode`). */
export enum TargetTablePrepMode {
  /** Leave existing tables and data alone; DMS creates missing tables (the Neon guide's choice). */
  DO_NOTHING = 'DO_NOTHING',
  /** Drop and recreate the target tables: indexes, defaults and foreign keys are lost. */
  DROP_AND_CREATE = 'DROP_AND_CREATE',
  /** Truncate the target tables, keeping their definition. */
  TRUNCATE_BEFORE_LOAD = 'TRUNCATE_BEFORE_LOAD',
}

/**
 * How DMS migrates large-object columns. For a PostgreSQL source DMS treats TEXT, BYTEA, JSON, JSONB,
 * XML, arrays, HSTORE, composite, TSVECTOR/TSQUERY and geometric columns as LOBs.
 */
export enum LobMode {
  /**
   * LOBs up to `lobMaxSizeKb` are migrated in batches (fast). A larger value stops the task instead
   * of being truncated silently.
   */
  LIMITED = 'LIMITED',
  /** Every LOB is migrated whole, in `lobChunkSizeKb` pieces (slow; no size limit). */
  FULL = 'FULL',
  /**
   * "Don't include LOB columns": DMS leaves every LOB column out of the migration, so TEXT, JSON,
   * JSONB, BYTEA, XML and array columns of a PostgreSQL source arrive missing or NULL.
   */
  NONE = 'NONE',
}

/** Task log components (`Logging.LogComponents[].Id`). */
export enum LogComponent {
  /** Reading the source during full load. */
  SOURCE_UNLOAD = 'SOURCE_UNLOAD',
  /** Capturing changes (CDC). */
  SOURCE_CAPTURE = 'SOURCE_CAPTURE',
  /** Writing the full load to the target (the Neon guide suggests Debug here). */
  TARGET_LOAD = 'TARGET_LOAD',
  /** Applying changes to the target. */
  TARGET_APPLY = 'TARGET_APPLY',
  /** Task orchestration. */
  TASK_MANAGER = 'TASK_MANAGER',
  /** Table-mapping transformations. */
  TRANSFORMATION = 'TRANSFORMATION',
  /** Data validation. */
  VALIDATOR = 'VALIDATOR',
  /** Data validation (external). */
  VALIDATOR_EXT = 'VALIDATOR_EXT',
  /** File handling on the replication instance. */
  FILE_FACTORY = 'FILE_FACTORY',
  /** Table metadata. */
  METADATA_MANAGER = 'METADATA_MANAGER',
  /** Change sorting (CDC). */
  SORTER = 'SORTER',
  /** Table states. */
  TABLES_MANAGER = 'TABLES_MANAGER',
}

/** Log severity of a component. */
export enum LogSeverity {
  /** Errors only. */
  ERROR = 'LOGGER_SEVERITY_ERROR',
  /** Warnings and errors. */
  WARNING = 'LOGGER_SEVERITY_WARNING',
  /** Informational messages, warnings and errors. */
  INFO = 'LOGGER_SEVERITY_INFO',
  /** The DMS default level. */
  DEFAULT = 'LOGGER_SEVERITY_DEFAULT',
  /** Debug messages. */
  DEBUG = 'LOGGER_SEVERITY_DEBUG',
  /** Everything (large logs). */
  DETAILED_DEBUG = 'LOGGER_SEVERITY_DETAILED_DEBUG',
}

/** The severity of one log component. */
export interface LogComponentSeverity {
  /** The component. */
  readonly component: LogComponent;
  /** Its severity. */
  readonly severity: LogSeverity;
}

/** What DMS does about a record-level error. */
export enum ErrorPolicy {
  /** Skip the record and continue. */
  IGNORE_RECORD = 'IGNORE_RECORD',
  /** Write the error to the task log and continue. */
  LOG_ERROR = 'LOG_ERROR',
  /** Stop migrating the table, continue with the others. */
  SUSPEND_TABLE = 'SUSPEND_TABLE',
  /** Stop the task. */
  STOP_TASK = 'STOP_TASK',
}

/** What DMS does about an error on a whole table (`TableErrorPolicy`). */
export enum TableErrorPolicy {
  /** Stop migrating the table, continue with the others. */
  SUSPEND_TABLE = 'SUSPEND_TABLE',
  /** Stop the task. */
  STOP_TASK = 'STOP_TASK',
}

/**
 * Options of a DMS task's settings document. Every value is written explicitly, so the task does not
 * depend on DMS's defaults (which its documentation states inconsistently).
 */
export interface TaskSettingsProps {
  /**
   * What DMS does to existing target tables before the full load.
   *
   * @default TargetTablePrepMode.DO_NOTHING
   */
  readonly targetTablePrepMode?: TargetTablePrepMode;

  /**
   * Stop a full-load-and-CDC task after the full load, before it applies the changes cached during
   * the load (`StopTaskCachedChangesNotApplied`), e.g. to create indexes first; resume it
   * (`resume-processing`) to apply them and continue with CDC. `DmsMigrationTask` sets it with
   * `schemaCopy`.
   *
   * @default false
   */
  readonly stopAfterFullLoad?: boolean;

  /**
   * How LOB columns (TEXT, JSON, JSONB, BYTEA, XML, arrays… on PostgreSQL) are migrated.
   * `LobMode.NONE` leaves them out of the migration entirely.
   *
   * @default LobMode.LIMITED
   */
  readonly lobMode?: LobMode;

  /**
   * Largest LOB, in KB, migrated in `LobMode.LIMITED` (1–102,400). DMS reserves about
   * `lobMaxSizeKb × commitRate` of memory per LOB column during the full load, so raise it together
   * with a lower `commitRate`. A larger value stops the task (see `dataTruncationErrorPolicy` and the
   * source endpoint's fail-on-LOB-truncation setting) instead of being truncated.
   *
   * @default 32
   */
  readonly lobMaxSizeKb?: number;

  /**
   * Size, in KB, of the pieces LOBs are migrated in with `LobMode.FULL` (1–102,400).
   *
   * @default 64
   */
  readonly lobChunkSizeKb?: number;

  /**
   * With `LobMode.FULL`, LOBs up to this size in KB are migrated inline, faster (0–102,400; 0 = off).
   *
   * @default 0
   */
  readonly inlineLobMaxSizeKb?: number;

  /**
   * Compare source and target rows after the load (and during CDC).
   *
   * @default true
   */
  readonly enableValidation?: boolean;

  /**
   * Only validate, migrating nothing. Needs `enableValidation` and `TargetTablePrepMode.DO_NOTHING`,
   * and cannot be changed after the task exists.
   *
   * @default false
   */
  readonly validationOnly?: boolean;

  /**
   * Validation threads (1–200).
   *
   * @default 5
   */
  readonly validationThreadCount?: number;

  /**
   * Rows compared per validation batch (1–100,000).
   *
   * @default 10000
   */
  readonly validationPartitionSize?: number;

  /**
   * Validation failures after which validation of the task is suspended.
   *
   * @default 10000
   */
  readonly validationFailureMaxCount?: number;

  /**
   * Tables failing validation after which validation of the task is suspended.
   *
   * @default 1000
   */
  readonly validationTableFailureMaxCount?: number;

  /**
   * Skip LOB columns in validation.
   *
   * @default false
   */
  readonly validationSkipLobColumns?: boolean;

  /**
   * Account for collation differences between source and target when comparing.
   *
   * @default false
   */
  readonly validationHandleCollationDiff?: boolean;

  /**
   * Send task logs to CloudWatch Logs (log group `dms-tasks-<replication instance id>`; needs the
   * account role `dms-cloudwatch-logs-role`).
   *
   * @default true
   */
  readonly enableLogging?: boolean;

  /**
   * Severity per log component; components not listed log at `LogSeverity.DEFAULT`. The Neon guide
   * suggests `{ component: LogComponent.TARGET_LOAD, severity: LogSeverity.DEBUG }` for troubleshooting.
   *
   * @default - every component at LogSeverity.DEFAULT
   */
  readonly logSeverities?: LogComponentSeverity[];

  /**
   * Tables loaded in parallel during the full load (1–49).
   *
   * @default 8
   */
  readonly maxFullLoadSubTasks?: number;

  /**
   * Rows transferred together during the full load (1–50,000).
   *
   * @default 10000
   */
  readonly commitRate?: number;

  /**
   * How long the full load waits for open transactions on the source before it starts (whole seconds).
   *
   * @default Duration.seconds(600)
   */
  readonly transactionConsistencyTimeout?: Duration;

  /**
   * Create primary keys after the full load instead of before (faster load, no duplicate check while loading).
   *
   * @default false
   */
  readonly createPkAfterFullLoad?: boolean;

  /**
   * Record-level data errors (conversion, transformation, bad data).
   *
   * @default ErrorPolicy.LOG_ERROR
   */
  readonly dataErrorPolicy?: ErrorPolicy;

  /**
   * Truncated data (during change processing into PostgreSQL).
   *
   * @default ErrorPolicy.STOP_TASK
   */
  readonly dataTruncationErrorPolicy?: ErrorPolicy;

  /**
   * Errors processing a table's data or metadata.
   *
   * @default TableErrorPolicy.SUSPEND_TABLE
   */
  readonly tableErrorPolicy?: TableErrorPolicy;

  /**
   * Restarts after a recoverable error (e.g. the Neon compute resuming); -1 retries forever.
   *
   * @default -1
   */
  readonly recoverableErrorCount?: number;

  /**
   * Wait between retries of a recoverable error (whole seconds).
   *
   * @default Duration.seconds(5)
   */
  readonly recoverableErrorInterval?: Duration;

  /**
   * A change-processing DELETE whose row is missing on the target (`IGNORE_RECORD`, `LOG_ERROR`,
   * `SUSPEND_TABLE` or `STOP_TASK`).
   *
   * @default ErrorPolicy.IGNORE_RECORD
   */
  readonly applyErrorDeletePolicy?: ErrorPolicy;

  /**
   * A change-processing INSERT whose key already exists on the target.
   *
   * @default ErrorPolicy.LOG_ERROR
   */
  readonly applyErrorInsertPolicy?: ErrorPolicy;

  /**
   * A change-processing UPDATE whose row is missing on the target.
   *
   * @default ErrorPolicy.LOG_ERROR
   */
  readonly applyErrorUpdatePolicy?: ErrorPolicy;

  /**
   * Fail the task when the table mappings select no table (e.g. a misspelled schema).
   *
   * @default true
   */
  readonly failOnNoTablesCaptured?: boolean;

  /**
   * Apply changes in batches (CDC). Needs a primary or unique key on every source table, and works with
   * LOB columns only in `LobMode.LIMITED` or `LobMode.NONE`.
   *
   * @default false
   */
  readonly batchApplyEnabled?: boolean;

  /**
   * Minimum wait between batch applies (whole seconds, ≥ 1).
   *
   * @default Duration.seconds(1)
   */
  readonly batchApplyTimeoutMin?: Duration;

  /**
   * Maximum wait between batch applies (whole seconds, ≥ `batchApplyTimeoutMin`).
   *
   * @default Duration.seconds(30)
   */
  readonly batchApplyTimeoutMax?: Duration;

  /**
   * Memory, in MB, for pre-processing a batch.
   *
   * @default 500
   */
  readonly batchApplyMemoryLimitMb?: number;

  /**
   * Changes grouped into one transaction on the target (transactional apply).
   *
   * @default 1000
   */
  readonly minTransactionSize?: number;

  /**
   * Longest wait before committing a group of changes (whole seconds, transactional apply).
   *
   * @default Duration.seconds(1)
   */
  readonly commitTimeout?: Duration;

  /**
   * Memory, in MB, all transactions may take before changes spill to disk.
   *
   * @default 1024
   */
  readonly memoryLimitTotalMb?: number;

  /**
   * Prepared statements cached on the replication instance (1–200).
   *
   * @default 50
   */
  readonly statementCacheSize?: number;
}

const MAX_LOB_KB = 102400;

/**
 * The replication task settings document (`ReplicationTaskSettings`), validated and rendered with a
 * stable key order.
 *
 * Defaults differ from the DMS console in two places on purpose: validation is on, and
 * truncation stops the task instead of being logged.
 *
 * @example
 * import { LobMode, LogComponent, LogSeverity, TaskSettings } from 'cdk-neon-migration';
 *
 * const settings = new TaskSettings({
 *   lobMode: LobMode.LIMITED,
 *   lobMaxSizeKb: 1024,
 *   commitRate: 1000,
 *   logSeverities: [{ component: LogComponent.TARGET_LOAD, severity: LogSeverity.DEBUG }],
 * });
 */
export class TaskSettings {
  /** Target table preparation mode. */
  public readonly targetTablePrepMode: TargetTablePrepMode;
  /** LOB mode. */
  public readonly lobMode: LobMode;
  /** Whether validation is on. */
  public readonly validationEnabled: boolean;
  /** Whether the task only validates. */
  public readonly validationOnly: boolean;
  /** Whether task logs go to CloudWatch Logs. */
  public readonly loggingEnabled: boolean;
  /** Whether changes are applied in batches. */
  public readonly batchApplyEnabled: boolean;

  private readonly props: TaskSettingsProps;

  constructor(props: TaskSettingsProps = {}) {
    this.props = props;
    this.targetTablePrepMode = props.targetTablePrepMode ?? TargetTablePrepMode.DO_NOTHING;
    this.lobMode = props.lobMode ?? LobMode.LIMITED;
    this.validationEnabled = props.enableValidation ?? true;
    this.validationOnly = props.validationOnly ?? false;
    this.loggingEnabled = props.enableLogging ?? true;
    this.batchApplyEnabled = props.batchApplyEnabled ?? false;
    this.validate();
  }

  /** Whether a full-load-and-CDC task stops after the full load, before applying the cached changes. */
  public get stopsAfterFullLoad(): boolean {
    return this.props.stopAfterFullLoad ?? false;
  }

  /** These settings, with `stopAfterFullLoad` set. */
  public withStopAfterFullLoad(): TaskSettings {
    return new TaskSettings({ ...this.props, stopAfterFullLoad: true });
  }

  /** The settings document as a JSON string, with a stable key order. */
  public toJson(): string {
    const p = this.props;
    const lobMaxSize = p.lobMaxSizeKb ?? 32;
    const targetMetadata: Record<string, unknown> = {
      TargetSchema: '',
      SupportLobs: this.lobMode !== LobMode.NONE,
      FullLobMode: this.lobMode === LobMode.FULL,
      LimitedSizeLobMode: this.lobMode === LobMode.LIMITED,
    };
    if (this.lobMode === LobMode.FULL) {
      targetMetadata.LobChunkSize = p.lobChunkSizeKb ?? 64;
      targetMetadata.InlineLobMaxSize = p.inlineLobMaxSizeKb ?? 0;
    }
    if (this.lobMode === LobMode.LIMITED) {
      targetMetadata.LobMaxSize = lobMaxSize;
    }
    targetMetadata.BatchApplyEnabled = this.batchApplyEnabled;

    const overrides = new Map<LogComponent, LogSeverity>();
    for (const entry of p.logSeverities ?? []) {
      overrides.set(entry.component, entry.severity);
    }
    const logComponents = Object.values(LogComponent).map((id) => ({ Id: id, Severity: overrides.get(id) ?? LogSeverity.DEFAULT }));

    const validationSettings: Record<string, unknown> = {
      EnableValidation: this.validationEnabled,
      ValidationMode: 'ROW_LEVEL',
      ThreadCount: p.validationThreadCount ?? 5,
      PartitionSize: p.validationPartitionSize ?? 10000,
      FailureMaxCount: p.validationFailureMaxCount ?? 10000,
      TableFailureMaxCount: p.validationTableFailureMaxCount ?? 1000,
      ValidationOnly: this.validationOnly,
      HandleCollationDiff: p.validationHandleCollationDiff ?? false,
      SkipLobColumns: p.validationSkipLobColumns ?? false,
      // DMS validates limited-mode LOBs only when the partial size equals LobMaxSize; 0 = whole LOB
      ValidationPartialLobSize: this.lobMode === LobMode.LIMITED ? lobMaxSize : 0,
    };

    const settings = {
      TargetMetadata: targetMetadata,
      FullLoadSettings: {
        TargetTablePrepMode: this.targetTablePrepMode,
        CreatePkAfterFullLoad: p.createPkAfterFullLoad ?? false,
        StopTaskCachedChangesApplied: false,
        StopTaskCachedChangesNotApplied: p.stopAfterFullLoad ?? false,
        MaxFullLoadSubTasks: p.maxFullLoadSubTasks ?? 8,
        TransactionConsistencyTimeout: seconds(p.transactionConsistencyTimeout, 600),
        CommitRate: p.commitRate ?? 10000,
      },
      Logging: {
        EnableLogging: this.loggingEnabled,
        LogComponents: logComponents,
      },
      ValidationSettings: validationSettings,
      ErrorBehavior: {
        DataErrorPolicy: p.dataErrorPolicy ?? ErrorPolicy.LOG_ERROR,
        DataTruncationErrorPolicy: p.dataTruncationErrorPolicy ?? ErrorPolicy.STOP_TASK,
        DataErrorEscalationPolicy: 'SUSPEND_TABLE',
        DataErrorEscalationCount: 0,
        TableErrorPolicy: p.tableErrorPolicy ?? TableErrorPolicy.SUSPEND_TABLE,
        TableErrorEscalationPolicy: 'STOP_TASK',
        TableErrorEscalationCount: 0,
        RecoverableErrorCount: p.recoverableErrorCount ?? -1,
        RecoverableErrorInterval: seconds(p.recoverableErrorInterval, 5),
        RecoverableErrorThrottling: true,
        RecoverableErrorThrottlingMax: 1800,
        RecoverableErrorStopRetryAfterThrottlingMax: true,
        ApplyErrorDeletePolicy: p.applyErrorDeletePolicy ?? ErrorPolicy.IGNORE_RECORD,
        ApplyErrorInsertPolicy: p.applyErrorInsertPolicy ?? ErrorPolicy.LOG_ERROR,
        ApplyErrorUpdatePolicy: p.applyErrorUpdatePolicy ?? ErrorPolicy.LOG_ERROR,
        ApplyErrorEscalationPolicy: 'LOG_ERROR',
        ApplyErrorEscalationCount: 0,
        ApplyErrorFailOnTruncationDdl: false,
        FullLoadIgnoreConflicts: true,
        FailOnTransactionConsistencyBreached: false,
        FailOnNoTablesCaptured: p.failOnNoTablesCaptured ?? true,
      },
      ChangeProcessingTuning: {
        BatchApplyPreserveTransaction: true,
        BatchApplyTimeoutMin: seconds(p.batchApplyTimeoutMin, 1),
        BatchApplyTimeoutMax: seconds(p.batchApplyTimeoutMax, 30),
        BatchApplyMemoryLimit: p.batchApplyMemoryLimitMb ?? 500,
        BatchSplitSize: 0,
        MinTransactionSize: p.minTransactionSize ?? 1000,
        CommitTimeout: seconds(p.commitTimeout, 1),
        MemoryLimitTotal: p.memoryLimitTotalMb ?? 1024,
        MemoryKeepTime: 60,
        StatementCacheSize: p.statementCacheSize ?? 50,
      },
    };
    return JSON.stringify(settings);
  }

  private validate(): void {
    const p = this.props;
    checkRange('lobMaxSizeKb', p.lobMaxSizeKb, 1, MAX_LOB_KB, 'use LobMode.FULL for larger LOBs');
    checkRange('lobChunkSizeKb', p.lobChunkSizeKb, 1, MAX_LOB_KB);
    checkRange('inlineLobMaxSizeKb', p.inlineLobMaxSizeKb, 0, MAX_LOB_KB);
    if (p.lobMaxSizeKb !== undefined && this.lobMode !== LobMode.LIMITED) {
      throw new Error(`TaskSettings: lobMaxSizeKb applies only to LobMode.LIMITED (lobMode is ${this.lobMode}); remove it or set lobMode: LobMode.LIMITED.`);
    }
    if ((p.lobChunkSizeKb !== undefined || p.inlineLobMaxSizeKb !== undefined) && this.lobMode !== LobMode.FULL) {
      throw new Error(`TaskSettings: lobChunkSizeKb and inlineLobMaxSizeKb apply only to LobMode.FULL (lobMode is ${this.lobMode}); remove them or set lobMode: LobMode.FULL.`);
    }
    checkRange('validationThreadCount', p.validationThreadCount, 1, 200);
    checkRange('validationPartitionSize', p.validationPartitionSize, 1, 100000);
    checkRange('validationFailureMaxCount', p.validationFailureMaxCount, 0, Number.MAX_SAFE_INTEGER);
    checkRange('validationTableFailureMaxCount', p.validationTableFailureMaxCount, 0, Number.MAX_SAFE_INTEGER);
    checkRange('maxFullLoadSubTasks', p.maxFullLoadSubTasks, 1, 49);
    checkRange('commitRate', p.commitRate, 1, 50000);
    checkRange('recoverableErrorCount', p.recoverableErrorCount, -1, Number.MAX_SAFE_INTEGER, '-1 retries forever');
    checkRange('batchApplyMemoryLimitMb', p.batchApplyMemoryLimitMb, 1, Number.MAX_SAFE_INTEGER);
    checkRange('minTransactionSize', p.minTransactionSize, 1, Number.MAX_SAFE_INTEGER);
    checkRange('memoryLimitTotalMb', p.memoryLimitTotalMb, 1, Number.MAX_SAFE_INTEGER);
    checkRange('statementCacheSize', p.statementCacheSize, 1, 200);
    checkSeconds('transactionConsistencyTimeout', p.transactionConsistencyTimeout, 0);
    checkSeconds('recoverableErrorInterval', p.recoverableErrorInterval, 1);
    checkSeconds('batchApplyTimeoutMin', p.batchApplyTimeoutMin, 1);
    checkSeconds('batchApplyTimeoutMax', p.batchApplyTimeoutMax, 1);
    checkSeconds('commitTimeout', p.commitTimeout, 1);
    const min = seconds(p.batchApplyTimeoutMin, 1);
    const max = seconds(p.batchApplyTimeoutMax, 30);
    if (!Token.isUnresolved(min) && !Token.isUnresolved(max) && min > max) {
      throw new Error(`TaskSettings: batchApplyTimeoutMin (${min} s) is longer than batchApplyTimeoutMax (${max} s); make the minimum at most the maximum.`);
    }

    if (p.tableErrorPolicy !== undefined && !Object.values(TableErrorPolicy).includes(p.tableErrorPolicy)) {
      throw new Error(`TaskSettings: tableErrorPolicy must be SUSPEND_TABLE or STOP_TASK, got ${p.tableErrorPolicy}.`);
    }
    if (this.batchApplyEnabled && this.lobMode === LobMode.FULL) {
      throw new Error('TaskSettings: batchApplyEnabled does not work with LobMode.FULL (DMS applies LOBs in batches only in limited mode); use LobMode.LIMITED or turn batch apply off.');
    }
    if (this.validationOnly && this.targetTablePrepMode !== TargetTablePrepMode.DO_NOTHING) {
      throw new Error(`TaskSettings: validationOnly requires targetTablePrepMode DO_NOTHING (got ${this.targetTablePrepMode}); a validation-only task must not touch the target tables.`);
    }
    if (this.validationOnly && !this.validationEnabled) {
      throw new Error('TaskSettings: validationOnly requires enableValidation: true.');
    }
    const seen = new Set<LogComponent>();
    for (const entry of p.logSeverities ?? []) {
      if (seen.has(entry.component)) {
        throw new Error(`TaskSettings: logSeverities lists ${entry.component} more than once; give each component one severity.`);
      }
      seen.add(entry.component);
    }
  }
}

function checkRange(property: string, value: number | undefined, min: number, max: number, hint?: string): void {
  if (value === undefined || Token.isUnresolved(value)) {
    return;
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
    throw new Error(`TaskSettings: ${property} must be ${range}, got ${value}${hint ? ` (${hint})` : ''}.`);
  }
}

function checkSeconds(property: string, value: Duration | undefined, min: number): void {
  if (value === undefined || value.isUnresolved()) {
    return;
  }
  const secs = value.toMilliseconds() / 1000;
  if (!Number.isInteger(secs) || secs < min) {
    throw new Error(`TaskSettings: ${property} must be a whole number of seconds ≥ ${min}, got ${value.toHumanString()}.`);
  }
}

function seconds(value: Duration | undefined, fallback: number): number {
  return value === undefined ? fallback : value.toSeconds({ integral: false });
}
