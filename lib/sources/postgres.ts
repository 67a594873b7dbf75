import { Duration, Resource, Token } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IConstruct } from 'constructs';
import { allowDatabaseAccess, buildSourceEndpoint, SourceEngine } from './endpoint-core';
import { inspectLogicalReplication } from './logical-replication';
import { LogicalReplicationStatus } from './logical-replication-status';
import { SourceConnectionOptions, SourceEndpointAttributes, SourceEndpointCommonOptions } from './options';
import { SourceSslMode } from './ssl';
import { importEndpoint } from '../core/imported-endpoint';
import { EndpointType, IDmsEndpoint } from '../core/interfaces';

/** The logical decoding plugin DMS uses for CDC from PostgreSQL. */
export enum PostgresPluginName {
  /** Built into PostgreSQL. Tables without a primary key need `REPLICA IDENTITY FULL` for UPDATE/DELETE. */
  TEST_DECODING = 'test_decoding',
  /** The pglogical extension (must be installed and in `shared_preload_libraries`). */
  PGLOGICAL = 'pglogical',
}

/**
 * Settings of a PostgreSQL source endpoint.
 */
export interface PostgresSourceOptions extends SourceEndpointCommonOptions {
  /** Name of the database to migrate. */
  readonly databaseName: string;

  /**
   * The source is Aurora PostgreSQL (DMS engine `aurora-postgresql`).
   *
   * @default false
   */
  readonly aurora?: boolean;

  /**
   * Logical decoding plugin for CDC.
   *
   * @default - pglogical when the extension is installed, test_decoding otherwise (DMS's choice)
   */
  readonly pluginName?: PostgresPluginName;

  /**
   * Name of an existing logical replication slot to use for CDC (lowercase letters, digits and
   * underscores, at most 63 characters). DMS creates and names one per task otherwise; slots
   * persist and must be dropped after the migration.
   *
   * @default - DMS creates a slot
   */
  readonly slotName?: string;

  /**
   * Write a heartbeat to the source so the replication slot advances while the captured tables
   * are idle, keeping WAL from piling up.
   *
   * @default false
   */
  readonly heartbeatEnable?: boolean;

  /**
   * Interval of the heartbeat (whole minutes). Only with `heartbeatEnable`.
   *
   * @default Duration.minutes(5)
   */
  readonly heartbeatFrequency?: Duration;

  /**
   * Schema where DMS creates the heartbeat artifacts. Only with `heartbeatEnable`.
   *
   * @default 'public'
   */
  readonly heartbeatSchema?: string;

  /**
   * Fail the task when a LOB is larger than the task's LOB size, instead of truncating it silently.
   *
   * @default true
   */
  readonly failTasksOnLobTruncation?: boolean;

  /**
   * Capture DDL with an event trigger and the `awsdms_ddl_audit` table in the source.
   *
   * @default true
   */
  readonly captureDdls?: boolean;

  /**
   * Schema of the DDL capture artifacts.
   *
   * @default 'public'
   */
  readonly ddlArtifactsSchema?: string;

  /**
   * Migrate `boolean` as `boolean` instead of `varchar(5)` (takes effect when the PostgreSQL target
   * endpoint sets it too).
   *
   * @default true
   */
  readonly mapBooleanAsBoolean?: boolean;

  /**
   * Whether logical replication (`rds.logical_replication=1`, or `wal_level=logical`) is on, for CDC
   * checks at synth.
   *
   * @default - read from the parameter group of an RDS instance or cluster in the same stack
   * (`fromRdsInstance`/`fromRdsCluster`), unknown otherwise
   */
  readonly logicalReplicationEnabled?: boolean;

  /**
   * Major version of the source's PostgreSQL, e.g. `17`: DMS reads PostgreSQL 17 and 18 from engine
   * version 3.6.1 on, which `DmsMigrationTask` checks against its replication instance.
   *
   * @default - the major version of the RDS instance or cluster (`fromRdsInstance`/`fromRdsCluster`)
   * when its engine says it, unknown otherwise
   */
  readonly engineMajorVersion?: number;
}

/**
 * Properties of a `PostgresSourceEndpoint`.
 */
export interface PostgresSourceEndpointProps extends PostgresSourceOptions, SourceConnectionOptions {
}

/**
 * Properties of `PostgresSourceEndpoint.fromRdsInstance`.
 */
export interface PostgresSourceFromRdsInstanceProps extends PostgresSourceOptions {
  /** The RDS for PostgreSQL instance. */
  readonly instance: rds.IDatabaseInstance;

  /**
   * The credentials secret (`username`, `password`, `host`, `port`).
   *
   * @default - the secret the instance construct generated
   */
  readonly secret?: secretsmanager.ISecret;

  /**
   * TCP port of the instance.
   *
   * @default - the port configured on the instance construct, else 5432
   */
  readonly port?: number;
}

/**
 * Properties of `PostgresSourceEndpoint.fromRdsCluster`.
 */
export interface PostgresSourceFromRdsClusterProps extends PostgresSourceOptions {
  /** The Aurora PostgreSQL cluster (DMS reads from its writer endpoint). */
  readonly cluster: rds.IDatabaseCluster;

  /**
   * The credentials secret (`username`, `password`, `host`, `port`).
   *
   * @default - the secret the cluster construct generated
   */
  readonly secret?: secretsmanager.ISecret;

  /**
   * TCP port of the cluster.
   *
   * @default - the port configured on the cluster construct, else 5432
   */
  readonly port?: number;
}

/**
 * A PostgreSQL source endpoint created elsewhere.
 */
export interface PostgresSourceEndpointAttributes extends SourceEndpointAttributes {
  /**
   * Whether the source is Aurora PostgreSQL (engine `aurora-postgresql`).
   *
   * @default false
   */
  readonly aurora?: boolean;

  /**
   * Major version of the source's PostgreSQL, e.g. `17`, checked against the replication instance's
   * engine version.
   *
   * @default - unknown
   */
  readonly engineMajorVersion?: number;
}

/**
 * A DMS source endpoint for PostgreSQL (RDS, Aurora or self-managed), reading its credentials from
 * a Secrets Manager secret through a role DMS assumes. SSL mode `require` by default: RDS for
 * PostgreSQL 15 and later refuse unencrypted connections (`no pg_hba.conf entry … no encryption`).
 *
 * @example
 * import * as rds from 'aws-cdk-lib/aws-rds';
 * import { PostgresSourceEndpoint } from 'cdk-neon-migration';
 *
 * declare const db: rds.DatabaseInstance;
 *
 * const source = PostgresSourceEndpoint.fromRdsInstance(this, 'Source', {
 *   instance: db,
 *   databaseName: 'dms_sample',
 * });
 */
export class PostgresSourceEndpoint extends Resource implements IDmsEndpoint {
  /** A PostgreSQL source endpoint created elsewhere, by its ARN. */
  public static fromEndpointArn(scope: Construct, id: string, endpointArn: string): IDmsEndpoint {
    return PostgresSourceEndpoint.fromEndpointAttributes(scope, id, { endpointArn });
  }

  /** A PostgreSQL source endpoint created elsewhere. */
  public static fromEndpointAttributes(scope: Construct, id: string, attrs: PostgresSourceEndpointAttributes): IDmsEndpoint {
    const { aurora, ...rest } = attrs;
    return importEndpoint(scope, id, {
      ...rest,
      owner: 'PostgresSourceEndpoint',
      endpointType: EndpointType.SOURCE,
      engineName: aurora ? 'aurora-postgresql' : 'postgres',
      port: attrs.port ?? 5432,
    });
  }

  /** A source endpoint for an RDS for PostgreSQL instance, using its generated secret. */
  public static fromRdsInstance(scope: Construct, id: string, props: PostgresSourceFromRdsInstanceProps): PostgresSourceEndpoint {
    const owner = 'PostgresSourceEndpoint.fromRdsInstance';
    const engineType = props.instance.engine?.engineType;
    if (engineType !== undefined && !Token.isUnresolved(engineType) && engineType !== 'postgres') {
      throw new Error(`${owner}: the instance runs ${engineType}, not PostgreSQL: use the source endpoint class of that engine.`);
    }
    const secret = props.secret ?? secretOf(props.instance);
    if (!secret) {
      throw new Error(`${owner}: the instance has no generated secret: pass secret (username, password, host, port).`);
    }
    const { instance, ...options } = props;
    const endpoint = new PostgresSourceEndpoint(scope, id, {
      ...options,
      engineMajorVersion: props.engineMajorVersion ?? majorVersionOf(instance.engine?.engineVersion?.majorVersion),
      secret,
      port: props.port ?? knownPort(instance.dbInstanceEndpointPort, instance, 'port'),
      databaseConnections: instance,
    });
    if (props.logicalReplicationEnabled === undefined) {
      endpoint.probe = () => inspectLogicalReplication(instance, 'instance');
    }
    return endpoint;
  }

  /** A source endpoint for an Aurora PostgreSQL cluster, using its generated secret. */
  public static fromRdsCluster(scope: Construct, id: string, props: PostgresSourceFromRdsClusterProps): PostgresSourceEndpoint {
    const owner = 'PostgresSourceEndpoint.fromRdsCluster';
    const engineType = props.cluster.engine?.engineType;
    if (engineType !== undefined && !Token.isUnresolved(engineType) && engineType !== 'aurora-postgresql') {
      throw new Error(`${owner}: the cluster runs ${engineType}, not Aurora PostgreSQL: use the source endpoint class of that engine.`);
    }
    const secret = props.secret ?? secretOf(props.cluster);
    if (!secret) {
      throw new Error(`${owner}: the cluster has no generated secret: pass secret (username, password, host, port).`);
    }
    const { cluster, ...options } = props;
    const endpoint = new PostgresSourceEndpoint(scope, id, {
      ...options,
      engineMajorVersion: props.engineMajorVersion ?? majorVersionOf(cluster.engine?.engineVersion?.majorVersion),
      aurora: props.aurora ?? true,
      secret,
      port: props.port ?? knownPort(Token.asString(cluster.clusterEndpoint.port), cluster, 'port'),
      databaseConnections: cluster,
    });
    if (props.logicalReplicationEnabled === undefined) {
      endpoint.probe = () => inspectLogicalReplication(cluster, 'cluster');
    }
    return endpoint;
  }

  public readonly endpointArn: string;
  public readonly endpointIdentifier: string;
  public readonly endpointType: EndpointType = EndpointType.SOURCE;
  public readonly engineName: string;
  public readonly port: number;
  /** The database migrated. */
  public readonly databaseName: string;
  /** SSL mode of the connection. */
  public readonly sslMode: SourceSslMode;
  /** Major version of the source's PostgreSQL, when known. */
  public readonly engineMajorVersion?: number;
  /** The credentials secret DMS reads. */
  public readonly secret: secretsmanager.ISecret;
  /** The role DMS assumes to read the secret. */
  public readonly secretAccessRole: iam.IRole;
  /** The `AWS::DMS::Endpoint`. */
  public readonly resource: dms.CfnEndpoint;

  public readonly databaseConnections?: ec2.IConnectable;
  private probe: () => LogicalReplicationStatus;

  constructor(scope: Construct, id: string, props: PostgresSourceEndpointProps) {
    super(scope, id);
    const owner = 'PostgresSourceEndpoint';
    validatePostgresSettings(owner, props);

    const engine: SourceEngine = {
      owner,
      engineName: props.aurora ? 'aurora-postgresql' : 'postgres',
      defaultPort: 5432,
      settingsProperty: 'PostgreSqlSettings',
      sslModes: [SourceSslMode.REQUIRE, SourceSslMode.VERIFY_CA, SourceSslMode.VERIFY_FULL],
      defaultSslMode: SourceSslMode.REQUIRE,
    };
    const built = buildSourceEndpoint(this, engine, props, props.databaseName, {
      PluginName: props.pluginName,
      SlotName: props.slotName,
      HeartbeatEnable: props.heartbeatEnable,
      HeartbeatFrequency: props.heartbeatFrequency?.toMinutes(),
      HeartbeatSchema: props.heartbeatSchema,
      FailTasksOnLobTruncation: props.failTasksOnLobTruncation ?? true,
      CaptureDdls: props.captureDdls,
      DdlArtifactsSchema: props.ddlArtifactsSchema,
      MapBooleanAsBoolean: props.mapBooleanAsBoolean ?? true,
    });

    this.resource = built.resource;
    this.endpointArn = built.resource.ref;
    this.endpointIdentifier = built.endpointIdentifier;
    this.engineName = engine.engineName;
    this.port = built.port;
    this.sslMode = built.sslMode;
    this.databaseName = props.databaseName;
    this.engineMajorVersion = props.engineMajorVersion;
    this.secret = props.secret;
    this.secretAccessRole = built.accessRole;
    this.databaseConnections = props.databaseConnections;

    const known = props.logicalReplicationEnabled;
    this.probe = () => known === undefined ? LogicalReplicationStatus.UNKNOWN
      : known ? LogicalReplicationStatus.ENABLED : LogicalReplicationStatus.DISABLED;
  }

  /**
   * Open the database's port to `peer`. Needs `databaseConnections` (set by
   * `fromRdsInstance`/`fromRdsCluster`). A migration task opens it to its replication compute itself.
   */
  public allowFrom(peer: ec2.IConnectable): void {
    allowDatabaseAccess('PostgresSourceEndpoint', this.databaseConnections, this.port, peer,
      `DMS source endpoint ${this.node.path}`);
  }

  /**
   * Whether logical replication is on (needed for CDC): the `logicalReplicationEnabled` property,
   * else what the RDS parameter group in this app says, else unknown. Read it at the end of the
   * construction (e.g. in a validation), after parameters were added.
   */
  public logicalReplicationStatus(): LogicalReplicationStatus {
    return this.probe();
  }
}

function validatePostgresSettings(owner: string, props: PostgresSourceOptions): void {
  const major = props.engineMajorVersion;
  if (major !== undefined && !Token.isUnresolved(major) && (!Number.isInteger(major) || major < 9)) {
    throw new Error(`${owner}: engineMajorVersion must be a PostgreSQL major version such as 15 or 17, got ${major}.`);
  }
  const slot = props.slotName;
  if (slot !== undefined && !Token.isUnresolved(slot) && !/^[a-z0-9_]{1,63}$/.test(slot)) {
    throw new Error(`${owner}: slotName '${slot}' is not a replication slot name: use 1 to 63 lowercase letters, digits and underscores.`);
  }
  if (props.heartbeatEnable !== true && (props.heartbeatFrequency !== undefined || props.heartbeatSchema !== undefined)) {
    throw new Error(`${owner}: heartbeatFrequency and heartbeatSchema only apply with heartbeatEnable: true.`);
  }
  const frequency = props.heartbeatFrequency;
  if (frequency !== undefined && !frequency.isUnresolved()) {
    const minutes = frequency.toMinutes({ integral: false });
    if (!Number.isInteger(minutes) || minutes < 1) {
      throw new Error(`${owner}: heartbeatFrequency must be a whole number of minutes, at least 1, got ${frequency.toHumanString()}.`);
    }
  }
}

/**
 * The port of an RDS database as a number known at synth: the imported value, the port set on the
 * CloudFormation resource, or PostgreSQL's default (what RDS uses when none is set).
 */
function knownPort(endpointPort: string, database: IConstruct, property: string): number {
  if (!Token.isUnresolved(endpointPort)) {
    return Number(endpointPort);
  }
  const cfn = database.node.defaultChild;
  const configured = cfn ? (cfn as unknown as Record<string, unknown>)[property] : undefined;
  if (configured !== undefined && !Token.isUnresolved(configured)) {
    return Number(configured);
  }
  return 5432;
}

/** `17` from an RDS engine's major version string (`'17'`, `'9.6'`), when it is known at synth. */
function majorVersionOf(version: string | undefined): number | undefined {
  if (version === undefined || Token.isUnresolved(version)) {
    return undefined;
  }
  const major = Number(version.split('.')[0]);
  return Number.isInteger(major) ? major : undefined;
}

function secretOf(database: object): secretsmanager.ISecret | undefined {
  return (database as { secret?: secretsmanager.ISecret }).secret;
}
