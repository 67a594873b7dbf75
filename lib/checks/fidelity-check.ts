import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { IReplicationNetwork } from '../core/interfaces';
import { TableMappings } from '../task/table-mappings';

/**
 * The kind of database a fidelity check reads as its source.
 */
export enum FidelitySourceEngine {
  /** PostgreSQL (RDS, Aurora or self-managed). */
  POSTGRESQL = 'postgres',
  /**
   * MySQL, MariaDB or Aurora MySQL: the checks of docs/mysql-sources.md, run by a function of its own
   * (the MySQL driver stays out of the PostgreSQL function).
   */
  MYSQL = 'mysql',
}

/**
 * What `MigrationPreflight` and `MigrationVerification` need to reach the source database.
 */
export interface FidelityCheckProps {
  /**
   * Where the checks run: their function is attached to this VPC, its replication subnets and
   * security group (which reaches the source database and, through the NAT egress, Neon). The first
   * check of a stack decides this for every check of the stack.
   */
  readonly network: IReplicationNetwork;

  /**
   * The source database's secret in the JSON format of Amazon RDS (`username`, `password`, `host`,
   * `port`, optionally `dbname`). The checks' function may read it; its value never appears in the
   * template, the logs or the outputs.
   */
  readonly sourceSecret: secretsmanager.ISecret;

  /** The source database to read. */
  readonly sourceDatabaseName: string;

  /**
   * The source's engine. `forTask` takes it from the task's source endpoint.
   *
   * @default FidelitySourceEngine.POSTGRESQL
   */
  readonly sourceEngine?: FidelitySourceEngine;

  /**
   * PEM certificate bundle that signs the source database's TLS certificate (for Amazon RDS, the
   * regional bundle from https://truststore.pki.rds.amazonaws.com). With it the connection verifies
   * the certificate; without it the connection is encrypted but the certificate is not verified
   * (like `sslmode=require`).
   *
   * @default - TLS without certificate verification
   */
  readonly sourceCaBundle?: string;

  /** The table mappings of the DMS task: their selection rules pick the tables, their transformation rules give the target names. */
  readonly tableMappings: TableMappings;
}

/** What `MigrationPreflight.forTask` and `MigrationVerification.forTask` take from the task unless given. */
export interface FidelityCheckForTaskOptions {
  /**
   * Where the check runs (see `FidelityCheckProps.network`).
   *
   * @default - the task's network
   */
  readonly network?: IReplicationNetwork;

  /**
   * The source database's secret (RDS JSON format).
   *
   * @default - the secret of the task's source endpoint (a `PostgresSourceEndpoint` of this library)
   */
  readonly sourceSecret?: secretsmanager.ISecret;

  /**
   * The source's engine.
   *
   * @default - the engine of the task's source endpoint, else FidelitySourceEngine.POSTGRESQL
   */
  readonly sourceEngine?: FidelitySourceEngine;

  /**
   * The source database to read.
   *
   * @default - the database of the task's source endpoint
   */
  readonly sourceDatabaseName?: string;

  /**
   * PEM bundle to verify the source's TLS certificate with.
   *
   * @default - TLS without certificate verification
   */
  readonly sourceCaBundle?: string;

  /**
   * The target database.
   *
   * @default - the `dbname` of `targetSecret`
   */
  readonly targetDatabaseName?: string;
}
