import { Duration, Size, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as rds from 'aws-cdk-lib/aws-rds';
import { IDmsEndpoint } from '../core/interfaces';

/** Namespace of the Amazon RDS and Aurora metrics. */
const RDS_NAMESPACE = 'AWS/RDS';
const PERIOD = Duration.minutes(5);

/** What kind of database a `SourceDatabase` is. */
export enum SourceDatabaseKind {
  /** An Amazon RDS for PostgreSQL DB instance: metrics by `DBInstanceIdentifier`. */
  RDS_INSTANCE = 'rds-instance',
  /** An Aurora PostgreSQL cluster: the writer's metrics by `DBClusterIdentifier` and `Role=WRITER`. */
  AURORA_CLUSTER = 'aurora-cluster',
}

/**
 * The source database whose WAL and replication slots are watched: an RDS for PostgreSQL instance
 * or an Aurora PostgreSQL cluster.
 */
export class SourceDatabase {
  /**
   * An RDS for PostgreSQL instance.
   *
   * @param allocatedStorage the instance's allocated storage, which the default thresholds are a
   * share of (default: read from an instance of this app; unknown otherwise, and the thresholds are absolute)
   */
  public static rdsInstance(instance: rds.IDatabaseInstance, allocatedStorage?: Size): SourceDatabase {
    return new SourceDatabase(SourceDatabaseKind.RDS_INSTANCE, instance.instanceIdentifier, allocatedStorage ?? allocatedStorageOf(instance));
  }

  /** An Aurora PostgreSQL cluster: logical slots and their WAL live on its writer. */
  public static auroraCluster(cluster: rds.IDatabaseCluster): SourceDatabase {
    return new SourceDatabase(SourceDatabaseKind.AURORA_CLUSTER, cluster.clusterIdentifier, undefined);
  }

  /**
   * The database of a source endpoint made with `PostgresSourceEndpoint.fromRdsInstance` or
   * `fromRdsCluster` (which know their database).
   */
  public static fromEndpoint(endpoint: IDmsEndpoint): SourceDatabase {
    const found = SourceDatabase.ofEndpoint(endpoint);
    if (found) return found;
    throw new Error(`SourceDatabase.fromEndpoint: the endpoint ${endpoint.node.path} does not know its RDS database: create it with `
      + 'PostgresSourceEndpoint.fromRdsInstance or fromRdsCluster, or use SourceDatabase.rdsInstance / SourceDatabase.auroraCluster.');
  }

  /**
   * The database of a source endpoint made with `PostgresSourceEndpoint.fromRdsInstance` or
   * `fromRdsCluster`; undefined for an endpoint that does not know its RDS database.
   */
  public static ofEndpoint(endpoint: IDmsEndpoint): SourceDatabase | undefined {
    const database = endpoint.databaseConnections as unknown as Record<string, unknown> | undefined;
    if (database && typeof database.instanceIdentifier === 'string' && 'dbInstanceEndpointAddress' in database) {
      return SourceDatabase.rdsInstance(database as unknown as rds.IDatabaseInstance);
    }
    if (database && typeof database.clusterIdentifier === 'string' && 'clusterEndpoint' in database) {
      return SourceDatabase.auroraCluster(database as unknown as rds.IDatabaseCluster);
    }
    return undefined;
  }

  /** Instance or cluster. */
  public readonly kind: SourceDatabaseKind;
  /** `DBInstanceIdentifier` or `DBClusterIdentifier`. */
  public readonly identifier: string;
  /** Allocated storage of an RDS instance, when known. */
  public readonly allocatedStorage?: Size;

  private constructor(kind: SourceDatabaseKind, identifier: string, allocatedStorage: Size | undefined) {
    this.kind = kind;
    this.identifier = identifier;
    this.allocatedStorage = allocatedStorage;
  }

  /** A metric of the database (namespace `AWS/RDS`); for Aurora, of its writer instance. */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    const dimensionsMap: Record<string, string> = this.kind === SourceDatabaseKind.RDS_INSTANCE
      ? { DBInstanceIdentifier: this.identifier }
      : { DBClusterIdentifier: this.identifier, Role: 'WRITER' };
    return new cloudwatch.Metric({
      namespace: RDS_NAMESPACE, metricName, dimensionsMap, period: PERIOD, statistic: cloudwatch.Stats.MAXIMUM, ...props,
    });
  }
}

/** The allocated storage of an RDS instance of this app, when it is a literal. */
function allocatedStorageOf(instance: rds.IDatabaseInstance): Size | undefined {
  const cfn = instance.node.defaultChild;
  if (!(cfn instanceof rds.CfnDBInstance)) {
    return undefined;
  }
  const value = cfn.allocatedStorage;
  if (value === undefined || Token.isUnresolved(value) || !/^\d+$/.test(String(value))) {
    return undefined;
  }
  return Size.gibibytes(Number(value));
}

