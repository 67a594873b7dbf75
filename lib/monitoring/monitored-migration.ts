import type { SourceDatabase } from '../sources/source-database';

/**
 * A replication task to watch: what metrics, alarms and the dashboard need to know about it.
 * `DmsMigrationTask` implements it; `MonitoredMigration.fromAttributes` builds one from plain values.
 */
export interface IMonitoredMigration {
  /**
   * ARN of the replication task (`arn:<partition>:dms:<region>:<account>:task:<resource id>`).
   * Its last part, the resource id, is the `ReplicationTaskIdentifier` dimension of the AWS/DMS
   * task metrics.
   */
  readonly taskArn: string;

  /**
   * The replication task identifier (the task's name). DMS event subscriptions and the DMS
   * console address the task by it.
   */
  readonly taskIdentifier: string;

  /** Identifier (name) of the replication instance running the task. */
  readonly replicationInstanceIdentifier: string;

  /**
   * Name shown on the dashboard.
   *
   * @default - the task identifier
   */
  readonly displayName?: string;

  /**
   * The RDS for PostgreSQL instance or Aurora PostgreSQL cluster the task reads changes from:
   * `MigrationAlarms` watches its replication slots' WAL and its storage (`PostgresSourceAlarms`).
   *
   * @default - the source is not watched
   */
  readonly sourceDatabase?: SourceDatabase;
}

/** Plain values describing a replication task to watch. */
export interface MonitoredMigrationAttributes {
  /** ARN of the replication task. */
  readonly taskArn: string;

  /** The replication task identifier (the task's name). */
  readonly taskIdentifier: string;

  /** Identifier (name) of the replication instance running the task. */
  readonly replicationInstanceIdentifier: string;

  /**
   * Name shown on the dashboard.
   *
   * @default - the task identifier
   */
  readonly displayName?: string;

  /**
   * The RDS for PostgreSQL instance or Aurora PostgreSQL cluster the task reads changes from:
   * `MigrationAlarms` watches its replication slots' WAL and its storage (`PostgresSourceAlarms`).
   *
   * @default - the source is not watched
   */
  readonly sourceDatabase?: SourceDatabase;
}

/** Build an `IMonitoredMigration` for a task created elsewhere (another stack, the console, …). */
export class MonitoredMigration {
  /** A migration to watch, from its task ARN, task identifier and replication instance identifier. */
  public static fromAttributes(attrs: MonitoredMigrationAttributes): IMonitoredMigration {
    return new ImportedMigration(attrs);
  }

  private constructor() {}
}

class ImportedMigration implements IMonitoredMigration {
  public readonly taskArn: string;
  public readonly taskIdentifier: string;
  public readonly replicationInstanceIdentifier: string;
  public readonly displayName?: string;
  public readonly sourceDatabase?: SourceDatabase;

  constructor(attrs: MonitoredMigrationAttributes) {
    this.taskArn = attrs.taskArn;
    this.taskIdentifier = attrs.taskIdentifier;
    this.replicationInstanceIdentifier = attrs.replicationInstanceIdentifier;
    this.displayName = attrs.displayName;
    this.sourceDatabase = attrs.sourceDatabase;
  }
}
