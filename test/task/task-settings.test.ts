import { Duration, Lazy } from 'aws-cdk-lib';
import { ErrorPolicy, LobMode, LogComponent, LogSeverity, TableErrorPolicy, TargetTablePrepMode, TaskSettings } from '../../lib/task';

function settings(props = {}): any {
  return JSON.parse(new TaskSettings(props).toJson());
}

const ALL_COMPONENTS = [
  'SOURCE_UNLOAD', 'SOURCE_CAPTURE', 'TARGET_LOAD', 'TARGET_APPLY', 'TASK_MANAGER', 'TRANSFORMATION',
  'VALIDATOR', 'VALIDATOR_EXT', 'FILE_FACTORY', 'METADATA_MANAGER', 'SORTER', 'TABLES_MANAGER',
];

describe('TaskSettings', () => {
  test('defaults: DO_NOTHING, limited LOBs that stop on truncation, validation and logging on', () => {
    expect(settings()).toEqual({
      TargetMetadata: {
        TargetSchema: '',
        SupportLobs: true,
        FullLobMode: false,
        LimitedSizeLobMode: true,
        LobMaxSize: 32,
        BatchApplyEnabled: false,
      },
      FullLoadSettings: {
        TargetTablePrepMode: 'DO_NOTHING',
        CreatePkAfterFullLoad: false,
        StopTaskCachedChangesApplied: false,
        StopTaskCachedChangesNotApplied: false,
        MaxFullLoadSubTasks: 8,
        TransactionConsistencyTimeout: 600,
        CommitRate: 10000,
      },
      Logging: {
        EnableLogging: true,
        LogComponents: ALL_COMPONENTS.map((Id) => ({ Id, Severity: 'LOGGER_SEVERITY_DEFAULT' })),
      },
      ValidationSettings: {
        EnableValidation: true,
        ValidationMode: 'ROW_LEVEL',
        ThreadCount: 5,
        PartitionSize: 10000,
        FailureMaxCount: 10000,
        TableFailureMaxCount: 1000,
        ValidationOnly: false,
        HandleCollationDiff: false,
        SkipLobColumns: false,
        ValidationPartialLobSize: 32,
      },
      ErrorBehavior: {
        DataErrorPolicy: 'LOG_ERROR',
        DataTruncationErrorPolicy: 'STOP_TASK',
        DataErrorEscalationPolicy: 'SUSPEND_TABLE',
        DataErrorEscalationCount: 0,
        TableErrorPolicy: 'SUSPEND_TABLE',
        TableErrorEscalationPolicy: 'STOP_TASK',
        TableErrorEscalationCount: 0,
        RecoverableErrorCount: -1,
        RecoverableErrorInterval: 5,
        RecoverableErrorThrottling: true,
        RecoverableErrorThrottlingMax: 1800,
        RecoverableErrorStopRetryAfterThrottlingMax: true,
        ApplyErrorDeletePolicy: 'IGNORE_RECORD',
        ApplyErrorInsertPolicy: 'LOG_ERROR',
        ApplyErrorUpdatePolicy: 'LOG_ERROR',
        ApplyErrorEscalationPolicy: 'LOG_ERROR',
        ApplyErrorEscalationCount: 0,
        ApplyErrorFailOnTruncationDdl: false,
        FullLoadIgnoreConflicts: true,
        FailOnTransactionConsistencyBreached: false,
        FailOnNoTablesCaptured: true,
      },
      ChangeProcessingTuning: {
        BatchApplyPreserveTransaction: true,
        BatchApplyTimeoutMin: 1,
        BatchApplyTimeoutMax: 30,
        BatchApplyMemoryLimit: 500,
        BatchSplitSize: 0,
        MinTransactionSize: 1000,
        CommitTimeout: 1,
        MemoryLimitTotal: 1024,
        MemoryKeepTime: 60,
        StatementCacheSize: 50,
      },
    });
  });

  test('never emits CloudWatchLogGroup or CloudWatchLogStream', () => {
    const json = new TaskSettings({ logSeverities: [{ component: LogComponent.TARGET_LOAD, severity: LogSeverity.DETAILED_DEBUG }] }).toJson();
    expect(json).not.toMatch(/CloudWatchLogGroup|CloudWatchLogStream/);
  });

  test('the JSON is deterministic', () => {
    const props = { lobMode: LobMode.FULL, logSeverities: [{ component: LogComponent.SORTER, severity: LogSeverity.INFO }] };
    expect(new TaskSettings(props).toJson()).toBe(new TaskSettings(props).toJson());
    expect(new TaskSettings().toJson().startsWith('{"TargetMetadata":{"TargetSchema":"","SupportLobs":true,"FullLobMode":false,"LimitedSizeLobMode":true,"LobMaxSize":32,')).toBe(true);
  });

  test('exposes the chosen modes', () => {
    const s = new TaskSettings({ lobMode: LobMode.NONE, enableLogging: false, enableValidation: false, batchApplyEnabled: true });
    expect([s.lobMode, s.loggingEnabled, s.validationEnabled, s.batchApplyEnabled, s.targetTablePrepMode, s.validationOnly])
      .toEqual([LobMode.NONE, false, false, true, TargetTablePrepMode.DO_NOTHING, false]);
  });

  test('limited LOB mode with a larger size validates whole limited LOBs', () => {
    const s = settings({ lobMaxSizeKb: 1024 });
    expect(s.TargetMetadata).toEqual({ TargetSchema: '', SupportLobs: true, FullLobMode: false, LimitedSizeLobMode: true, LobMaxSize: 1024, BatchApplyEnabled: false });
    expect(s.ValidationSettings.ValidationPartialLobSize).toBe(1024);
  });

  test('full LOB mode', () => {
    expect(settings({ lobMode: LobMode.FULL }).TargetMetadata).toEqual({
      TargetSchema: '', SupportLobs: true, FullLobMode: true, LimitedSizeLobMode: false, LobChunkSize: 64, InlineLobMaxSize: 0, BatchApplyEnabled: false,
    });
    const s = settings({ lobMode: LobMode.FULL, lobChunkSizeKb: 128, inlineLobMaxSizeKb: 16 });
    expect(s.TargetMetadata.LobChunkSize).toBe(128);
    expect(s.TargetMetadata.InlineLobMaxSize).toBe(16);
    expect(s.ValidationSettings.ValidationPartialLobSize).toBe(0);
  });

  test('no LOB columns', () => {
    expect(settings({ lobMode: LobMode.NONE }).TargetMetadata).toEqual({
      TargetSchema: '', SupportLobs: false, FullLobMode: false, LimitedSizeLobMode: false, BatchApplyEnabled: false,
    });
  });

  test('the guide\'s TARGET_LOAD debug logging', () => {
    const components = settings({ logSeverities: [{ component: LogComponent.TARGET_LOAD, severity: LogSeverity.DEBUG }] }).Logging.LogComponents;
    expect(components).toHaveLength(12);
    expect(components).toContainEqual({ Id: 'TARGET_LOAD', Severity: 'LOGGER_SEVERITY_DEBUG' });
    expect(components).toContainEqual({ Id: 'SOURCE_UNLOAD', Severity: 'LOGGER_SEVERITY_DEFAULT' });
  });

  test('logging off, validation off, error policies and tuning are written as given', () => {
    const s = settings({
      enableLogging: false,
      enableValidation: false,
      targetTablePrepMode: TargetTablePrepMode.TRUNCATE_BEFORE_LOAD,
      maxFullLoadSubTasks: 49,
      commitRate: 50000,
      transactionConsistencyTimeout: Duration.minutes(15),
      createPkAfterFullLoad: true,
      dataErrorPolicy: ErrorPolicy.STOP_TASK,
      dataTruncationErrorPolicy: ErrorPolicy.LOG_ERROR,
      tableErrorPolicy: TableErrorPolicy.STOP_TASK,
      recoverableErrorCount: 10,
      recoverableErrorInterval: Duration.seconds(30),
      applyErrorDeletePolicy: ErrorPolicy.STOP_TASK,
      applyErrorInsertPolicy: ErrorPolicy.SUSPEND_TABLE,
      applyErrorUpdatePolicy: ErrorPolicy.IGNORE_RECORD,
      failOnNoTablesCaptured: false,
      batchApplyEnabled: true,
      batchApplyTimeoutMin: Duration.seconds(5),
      batchApplyTimeoutMax: Duration.minutes(1),
      batchApplyMemoryLimitMb: 1000,
      minTransactionSize: 500,
      commitTimeout: Duration.seconds(2),
      memoryLimitTotalMb: 2048,
      statementCacheSize: 200,
      validationThreadCount: 8,
      validationPartitionSize: 5000,
      validationFailureMaxCount: 0,
      validationTableFailureMaxCount: 5,
      validationSkipLobColumns: true,
      validationHandleCollationDiff: true,
    });
    expect(s.Logging.EnableLogging).toBe(false);
    expect(s.ValidationSettings).toMatchObject({
      EnableValidation: false,
      ThreadCount: 8,
      PartitionSize: 5000,
      FailureMaxCount: 0,
      TableFailureMaxCount: 5,
      SkipLobColumns: true,
      HandleCollationDiff: true,
    });
    expect(s.FullLoadSettings).toMatchObject({
      TargetTablePrepMode: 'TRUNCATE_BEFORE_LOAD', MaxFullLoadSubTasks: 49, CommitRate: 50000, TransactionConsistencyTimeout: 900, CreatePkAfterFullLoad: true,
    });
    expect(s.ErrorBehavior).toMatchObject({
      DataErrorPolicy: 'STOP_TASK',
      DataTruncationErrorPolicy: 'LOG_ERROR',
      TableErrorPolicy: 'STOP_TASK',
      RecoverableErrorCount: 10,
      RecoverableErrorInterval: 30,
      ApplyErrorDeletePolicy: 'STOP_TASK',
      ApplyErrorInsertPolicy: 'SUSPEND_TABLE',
      ApplyErrorUpdatePolicy: 'IGNORE_RECORD',
      FailOnNoTablesCaptured: false,
    });
    expect(s.TargetMetadata.BatchApplyEnabled).toBe(true);
    expect(s.ChangeProcessingTuning).toMatchObject({
      BatchApplyTimeoutMin: 5,
      BatchApplyTimeoutMax: 60,
      BatchApplyMemoryLimit: 1000,
      MinTransactionSize: 500,
      CommitTimeout: 2,
      MemoryLimitTotal: 2048,
      StatementCacheSize: 200,
    });
  });

  test('validation-only task', () => {
    expect(settings({ validationOnly: true }).ValidationSettings.ValidationOnly).toBe(true);
  });

  describe('validation errors', () => {
    test.each([
      [{ lobMaxSizeKb: 0 }, 'TaskSettings: lobMaxSizeKb must be an integer from 1 to 102400, got 0 (use LobMode.FULL for larger LOBs).'],
      [{ lobMaxSizeKb: 102401 }, 'TaskSettings: lobMaxSizeKb must be an integer from 1 to 102400, got 102401 (use LobMode.FULL for larger LOBs).'],
      [{ lobMaxSizeKb: 1.5 }, 'TaskSettings: lobMaxSizeKb must be an integer from 1 to 102400, got 1.5 (use LobMode.FULL for larger LOBs).'],
      [{ lobMode: LobMode.FULL, lobChunkSizeKb: 0 }, 'TaskSettings: lobChunkSizeKb must be an integer from 1 to 102400, got 0.'],
      [{ lobMode: LobMode.FULL, inlineLobMaxSizeKb: 102401 }, 'TaskSettings: inlineLobMaxSizeKb must be an integer from 0 to 102400, got 102401.'],
      [{ lobMode: LobMode.FULL, lobMaxSizeKb: 64 }, 'TaskSettings: lobMaxSizeKb applies only to LobMode.LIMITED (lobMode is FULL); remove it or set lobMode: LobMode.LIMITED.'],
      [{ lobMode: LobMode.NONE, lobMaxSizeKb: 64 }, 'TaskSettings: lobMaxSizeKb applies only to LobMode.LIMITED (lobMode is NONE); remove it or set lobMode: LobMode.LIMITED.'],
      [{ lobChunkSizeKb: 64 }, 'TaskSettings: lobChunkSizeKb and inlineLobMaxSizeKb apply only to LobMode.FULL (lobMode is LIMITED); remove them or set lobMode: LobMode.FULL.'],
      [{ inlineLobMaxSizeKb: 8 }, 'TaskSettings: lobChunkSizeKb and inlineLobMaxSizeKb apply only to LobMode.FULL (lobMode is LIMITED); remove them or set lobMode: LobMode.FULL.'],
      [{ maxFullLoadSubTasks: 0 }, 'TaskSettings: maxFullLoadSubTasks must be an integer from 1 to 49, got 0.'],
      [{ maxFullLoadSubTasks: 50 }, 'TaskSettings: maxFullLoadSubTasks must be an integer from 1 to 49, got 50.'],
      [{ commitRate: 0 }, 'TaskSettings: commitRate must be an integer from 1 to 50000, got 0.'],
      [{ commitRate: 50001 }, 'TaskSettings: commitRate must be an integer from 1 to 50000, got 50001.'],
      [{ validationThreadCount: 0 }, 'TaskSettings: validationThreadCount must be an integer from 1 to 200, got 0.'],
      [{ validationPartitionSize: 100001 }, 'TaskSettings: validationPartitionSize must be an integer from 1 to 100000, got 100001.'],
      [{ validationFailureMaxCount: -1 }, 'TaskSettings: validationFailureMaxCount must be an integer ≥ 0, got -1.'],
      [{ validationTableFailureMaxCount: -1 }, 'TaskSettings: validationTableFailureMaxCount must be an integer ≥ 0, got -1.'],
      [{ recoverableErrorCount: -2 }, 'TaskSettings: recoverableErrorCount must be an integer ≥ -1, got -2 (-1 retries forever).'],
      [{ batchApplyMemoryLimitMb: 0 }, 'TaskSettings: batchApplyMemoryLimitMb must be an integer ≥ 1, got 0.'],
      [{ minTransactionSize: 0 }, 'TaskSettings: minTransactionSize must be an integer ≥ 1, got 0.'],
      [{ memoryLimitTotalMb: 0 }, 'TaskSettings: memoryLimitTotalMb must be an integer ≥ 1, got 0.'],
      [{ statementCacheSize: 201 }, 'TaskSettings: statementCacheSize must be an integer from 1 to 200, got 201.'],
      [{ transactionConsistencyTimeout: Duration.millis(1500) }, 'TaskSettings: transactionConsistencyTimeout must be a whole number of seconds ≥ 0, got 1 second 500 millis.'],
      [{ recoverableErrorInterval: Duration.seconds(0) }, 'TaskSettings: recoverableErrorInterval must be a whole number of seconds ≥ 1, got 0 seconds.'],
      [{ batchApplyTimeoutMin: Duration.seconds(0) }, 'TaskSettings: batchApplyTimeoutMin must be a whole number of seconds ≥ 1, got 0 seconds.'],
      [{ batchApplyTimeoutMax: Duration.millis(500) }, 'TaskSettings: batchApplyTimeoutMax must be a whole number of seconds ≥ 1, got 500 millis.'],
      [{ commitTimeout: Duration.seconds(0) }, 'TaskSettings: commitTimeout must be a whole number of seconds ≥ 1, got 0 seconds.'],
      [{ batchApplyTimeoutMin: Duration.seconds(40) }, 'TaskSettings: batchApplyTimeoutMin (40 s) is longer than batchApplyTimeoutMax (30 s); make the minimum at most the maximum.'],
      [{ tableErrorPolicy: 'LOG_ERROR' as TableErrorPolicy }, 'TaskSettings: tableErrorPolicy must be SUSPEND_TABLE or STOP_TASK, got LOG_ERROR.'],
      [{ batchApplyEnabled: true, lobMode: LobMode.FULL }, 'TaskSettings: batchApplyEnabled does not work with LobMode.FULL (DMS applies LOBs in batches only in limited mode); use LobMode.LIMITED or turn batch apply off.'],
      [{ validationOnly: true, targetTablePrepMode: TargetTablePrepMode.DROP_AND_CREATE }, 'TaskSettings: validationOnly requires targetTablePrepMode DO_NOTHING (got DROP_AND_CREATE); a validation-only task must not touch the target tables.'],
      [{ validationOnly: true, enableValidation: false }, 'TaskSettings: validationOnly requires enableValidation: true.'],
      [{
        logSeverities: [{ component: LogComponent.SORTER, severity: LogSeverity.INFO },
          { component: LogComponent.SORTER, severity: LogSeverity.ERROR }],
      },
      'TaskSettings: logSeverities lists SORTER more than once; give each component one severity.'],
    ])('%j', (props, message) => {
      expect(() => new TaskSettings(props)).toThrow(message);
    });

    test('boundary values are accepted', () => {
      expect(() => new TaskSettings({
        lobMaxSizeKb: 102400, maxFullLoadSubTasks: 1, commitRate: 1, recoverableErrorCount: -1, statementCacheSize: 1,
      })).not.toThrow();
      expect(() => new TaskSettings({
        lobMode: LobMode.FULL, lobChunkSizeKb: 102400, inlineLobMaxSizeKb: 0, batchApplyTimeoutMin: Duration.seconds(30),
      })).not.toThrow();
    });

    test('token values are not checked', () => {
      const token = Lazy.number({ produce: () => 99999 });
      expect(() => new TaskSettings({
        commitRate: token, maxFullLoadSubTasks: token, lobMaxSizeKb: token, transactionConsistencyTimeout: Duration.seconds(token),
      })).not.toThrow();
    });
  });
});
