import { Annotations, Aspects, Token } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import { Construct, IConstruct } from 'constructs';
import type { DmsMigrationTaskProps } from './migration-task-props';
import { validateDmsIdentifier } from '../core/identifiers';
import { EndpointType, IDmsEndpoint } from '../core/interfaces';
import { DEFAULT_DMS_ENGINE_VERSION } from '../replication/engine-version';
import { IReplicationInstance, ReplicationInstance } from '../replication/replication-instance';
import { ReplicationType } from '../replication/serverless';
import { LogicalReplicationStatus } from '../sources/logical-replication-status';
import { PostgresSourceEndpoint } from '../sources/postgres';
import { SourceDatabase } from '../sources/source-database';
import { MigrationType } from '../task/migration-type';
import { RuleType, TableMappings, TableType } from '../task/table-mappings';
import { LobMode, TaskSettings } from '../task/task-settings';

/*
 * What a DmsMigrationTask checks of its properties, and what it warns about.
 */

/** Longest replication task identifier DMS accepts. */
const MAX_TASK_IDENTIFIER_LENGTH = 255;

export function validateEndpoints(source: IDmsEndpoint, target: IDmsEndpoint): void {
  const swapped = source.endpointType === EndpointType.TARGET && target.endpointType === EndpointType.SOURCE;
  if (swapped) {
    throw new Error(`DmsMigrationTask: source and target are swapped: '${describe(source)}' is a target endpoint and '${describe(target)}' a source endpoint; pass the source database endpoint as source and the Neon endpoint as target.`);
  }
  if (source.endpointType !== EndpointType.SOURCE) {
    throw new Error(`DmsMigrationTask: source '${describe(source)}' is a ${source.endpointType} endpoint; pass an endpoint of type source (e.g. PostgresSourceEndpoint).`);
  }
  if (target.endpointType !== EndpointType.TARGET) {
    throw new Error(`DmsMigrationTask: target '${describe(target)}' is a ${target.endpointType} endpoint; pass an endpoint of type target (e.g. NeonTargetEndpoint).`);
  }
}

export function describe(endpoint: IDmsEndpoint): string {
  return Token.isUnresolved(endpoint.endpointIdentifier) ? endpoint.node.path : endpoint.endpointIdentifier;
}

export function resolveMappings(props: DmsMigrationTaskProps): TableMappings {
  if (props.tableMappings && props.schemaName !== undefined) {
    throw new Error('DmsMigrationTask: tableMappings and schemaName are alternatives: include the schema in tableMappings, or set schemaName alone.');
  }
  if (props.tableMappings) {
    return props.tableMappings;
  }
  if (props.schemaName === undefined) {
    throw new Error('DmsMigrationTask: set schemaName (every table of that schema is migrated) or tableMappings.');
  }
  return TableMappings.includeSchema(props.schemaName);
}

export function validateCdc(migrationType: MigrationType, props: DmsMigrationTaskProps): Partial<dms.CfnReplicationTaskProps> {
  const set = (['cdcStartPosition', 'cdcStartTime', 'cdcStopPosition'] as const).filter((p) => props[p] !== undefined);
  if (migrationType === MigrationType.FULL_LOAD && set.length > 0) {
    throw new Error(`DmsMigrationTask: ${set.join(', ')} only apply to MigrationType.CDC or FULL_LOAD_AND_CDC (migrationType is ${migrationType}).`);
  }
  if (props.cdcStartPosition !== undefined && props.cdcStartTime !== undefined) {
    throw new Error('DmsMigrationTask: cdcStartPosition and cdcStartTime are mutually exclusive: set one of them.');
  }
  const stop = props.cdcStopPosition;
  if (stop !== undefined && !Token.isUnresolved(stop) && !/^(server_time|commit_time):\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(stop)) {
    throw new Error(`DmsMigrationTask: cdcStopPosition '${stop}' must be server_time:YYYY-MM-DDTHH:MM:SS or commit_time:YYYY-MM-DDTHH:MM:SS (UTC).`);
  }
  if (props.cdcStartPosition !== undefined && !Token.isUnresolved(props.cdcStartPosition) && props.cdcStartPosition.trim() === '') {
    throw new Error('DmsMigrationTask: cdcStartPosition is empty; give an LSN or checkpoint, or omit it.');
  }
  const time = props.cdcStartTime;
  if (time !== undefined && isNaN(time.getTime())) {
    throw new Error('DmsMigrationTask: cdcStartTime is an invalid Date.');
  }
  return {
    cdcStartPosition: props.cdcStartPosition,
    cdcStartTime: time === undefined ? undefined : Math.floor(time.getTime() / 1000),
    cdcStopPosition: stop,
  };
}

/** `ReplicationType` of a serverless replication: the same values as `MigrationType`. */
export function replicationTypeOf(migrationType: MigrationType): ReplicationType {
  switch (migrationType) {
    case MigrationType.CDC: return ReplicationType.CDC;
    case MigrationType.FULL_LOAD_AND_CDC: return ReplicationType.FULL_LOAD_AND_CDC;
    default: return ReplicationType.FULL_LOAD;
  }
}

/** DMS Serverless does not support views: selection rules must select tables only. */
export function serverlessMappingProblems(mappings: TableMappings): string[] {
  return mappings.rules
    .filter(rule => rule.ruleType === RuleType.SELECTION)
    .filter(rule => rule.objectLocator.tableType === TableType.VIEW || rule.objectLocator.tableType === TableType.ALL)
    .map(rule => `DmsMigrationTask: selection rule '${rule.ruleName}' selects views (table-type ${rule.objectLocator.tableType}), `
      + 'which DMS Serverless does not support: select TableType.TABLE, or run the task on a replication instance.');
}

/** The oldest DMS engine version that reads each PostgreSQL major version DMS documents a minimum for (CHAP_Source.PostgreSQL). */
const POSTGRES_SOURCE_MINIMUM_ENGINE: ReadonlyArray<[number, string]> = [[17, '3.6.1'], [16, '3.5.3'], [15, '3.5.1'], [14, '3.4.7']];

/** A PostgreSQL source newer than the replication instance's DMS engine reads fails when the task starts: refuse it at synth. */
export function checkEngineVersion(source: IDmsEndpoint, instance: IReplicationInstance): void {
  const version = instance instanceof ReplicationInstance ? instance.engineVersion : undefined;
  const major = (source as unknown as { engineMajorVersion?: number }).engineMajorVersion;
  if (version === undefined || Token.isUnresolved(version) || major === undefined || Token.isUnresolved(major)) {
    return;
  }
  const minimum = POSTGRES_SOURCE_MINIMUM_ENGINE.find(([from]) => major >= from)?.[1];
  if (minimum !== undefined && compareVersions(version, minimum) < 0) {
    throw new Error(`DmsMigrationTask: source '${describe(source)}' runs PostgreSQL ${major}, which DMS reads from engine version ${minimum} on, `
      + `but the replication instance's engineVersion is ${version}: set engineVersion to ${minimum} or later (the default is ${DEFAULT_DMS_ENGINE_VERSION}).`);
  }
}

/** Compares dotted version numbers: negative when `a` is older than `b`. */
function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

export function validateTaskIdentifier(value: string): string {
  if (Token.isUnresolved(value)) {
    throw new Error('DmsMigrationTask: taskIdentifier must be a literal string, not a token: the task is found by its identifier to stop it before updates. Omit it to get one derived from the construct path.');
  }
  return validateDmsIdentifier('DmsMigrationTask', 'taskIdentifier', value, MAX_TASK_IDENTIFIER_LENGTH);
}

/** The logical-replication status a source endpoint reports (`logicalReplicationStatus()`), if it reports one. */
function logicalReplicationOf(source: IDmsEndpoint): string | undefined {
  const probe = (source as unknown as { logicalReplicationStatus?: unknown }).logicalReplicationStatus;
  return typeof probe === 'function' ? String(probe.call(source)) : undefined;
}

/** The RDS or Aurora database of a PostgreSQL source endpoint that knows it, for the source alarms. */
export function rdsSourceDatabase(source: IDmsEndpoint): SourceDatabase | undefined {
  return source instanceof PostgresSourceEndpoint ? SourceDatabase.ofEndpoint(source) : undefined;
}

/**
 * The synth warnings of a task: LOB columns left out, CDC without logical replication on the source,
 * settings that have no effect with the migration type.
 *
 * @internal
 */
export function addTaskWarnings(task: Construct & { readonly settings: TaskSettings; readonly migrationType: MigrationType },
  props: DmsMigrationTaskProps): void {
  if (task.settings.lobMode === LobMode.NONE) {
    Annotations.of(task).addWarningV2('cdk-neon-migration:lobModeNone',
      'LobMode.NONE ("Don\'t include LOB columns") leaves every LOB column out of the migration: TEXT, JSON, JSONB, BYTEA, XML '
      + 'and array columns of a PostgreSQL source arrive missing or NULL in Neon. Use LobMode.LIMITED (the default) or '
      + 'LobMode.FULL unless the selected tables have no such columns.');
  }
  const cdc = task.migrationType !== MigrationType.FULL_LOAD;
  if (cdc) {
    // The source's parameter group may get its parameters after this construct: check at the end.
    const source = props.source;
    Aspects.of(task).add({
      visit(node: IConstruct) {
        if (node === task && logicalReplicationOf(source) === LogicalReplicationStatus.DISABLED) {
          Annotations.of(task).addWarningV2('cdk-neon-migration:logicalReplicationOff',
            `${task.migrationType} needs logical replication on the source, but the parameter group of source `
            + `'${describe(source)}' does not set rds.logical_replication=1 (a static parameter: set it and reboot the database before the task starts).`);
        }
      },
    });
  }
  if (props.waitForCompletion && task.migrationType === MigrationType.CDC) {
    Annotations.of(task).addWarningV2('cdk-neon-migration:waitForCdc',
      'waitForCompletion has no full load to wait for with cdc: the deployment completes as soon as the task replicates changes, '
      + 'which it does until it is stopped.');
  }
  if (task.settings.batchApplyEnabled && !cdc) {
    Annotations.of(task).addWarningV2('cdk-neon-migration:batchApplyFullLoad',
      'batchApplyEnabled only affects change processing; it has no effect with MigrationType.FULL_LOAD.');
  }
}
