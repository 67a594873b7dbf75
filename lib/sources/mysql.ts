import { Duration, Resource } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { allowDatabaseAccess, buildSourceEndpoint, SourceEngine } from './endpoint-core';
import { SourceConnectionOptions, SourceEndpointAttributes, SourceEndpointCommonOptions } from './options';
import { SourceSslMode } from './ssl';
import { importEndpoint } from '../core/imported-endpoint';
import { EndpointType, IDmsEndpoint } from '../core/interfaces';

/** The MySQL-compatible engine of a source. */
export enum MySqlSourceEngine {
  /** MySQL (RDS or self-managed). */
  MYSQL = 'mysql',
  /** MariaDB (DMS treats it as MySQL). */
  MARIADB = 'mariadb',
  /** Aurora MySQL. */
  AURORA_MYSQL = 'aurora',
}

/**
 * Properties of a `MySqlSourceEndpoint`.
 */
export interface MySqlSourceEndpointProps extends SourceEndpointCommonOptions, SourceConnectionOptions {
  /**
   * The engine of the source.
   *
   * @default MySqlSourceEngine.MYSQL
   */
  readonly engine?: MySqlSourceEngine;

  /**
   * Database to connect to. MySQL endpoints need none: the table mappings select schemas.
   *
   * @default - none
   */
  readonly databaseName?: string;

  /**
   * Time zone of the source server, e.g. `US/Pacific`, when it is not UTC.
   *
   * @default - the server's time zone is taken as UTC
   */
  readonly serverTimezone?: string;

  /**
   * How often DMS polls the binary log for changes when the source is idle (whole seconds).
   *
   * @default Duration.seconds(5)
   */
  readonly eventsPollInterval?: Duration;
}

/**
 * A MySQL-compatible source endpoint created elsewhere.
 */
export interface MySqlSourceEndpointAttributes extends SourceEndpointAttributes {
  /**
   * The engine of the source.
   *
   * @default MySqlSourceEngine.MYSQL
   */
  readonly engine?: MySqlSourceEngine;
}

/**
 * A DMS source endpoint for MySQL, MariaDB or Aurora MySQL, reading its credentials from a
 * Secrets Manager secret through a role DMS assumes. SSL mode `require` by default.
 * CDC needs binary logging in ROW format (`binlog_format=ROW`, and on RDS a backup retention
 * period above zero).
 */
export class MySqlSourceEndpoint extends Resource implements IDmsEndpoint {
  /** A MySQL source endpoint created elsewhere, by its ARN. */
  public static fromEndpointArn(scope: Construct, id: string, endpointArn: string): IDmsEndpoint {
    return MySqlSourceEndpoint.fromEndpointAttributes(scope, id, { endpointArn });
  }

  /** A MySQL-compatible source endpoint created elsewhere. */
  public static fromEndpointAttributes(scope: Construct, id: string, attrs: MySqlSourceEndpointAttributes): IDmsEndpoint {
    return importEndpoint(scope, id, {
      ...attrs,
      owner: 'MySqlSourceEndpoint',
      endpointType: EndpointType.SOURCE,
      engineName: attrs.engine ?? MySqlSourceEngine.MYSQL,
      port: attrs.port ?? 3306,
    });
  }

  public readonly endpointArn: string;
  public readonly endpointIdentifier: string;
  public readonly endpointType: EndpointType = EndpointType.SOURCE;
  public readonly engineName: string;
  public readonly port: number;
  /** SSL mode of the connection. */
  public readonly sslMode: SourceSslMode;
  /** The credentials secret DMS reads. */
  public readonly secret: secretsmanager.ISecret;
  /** The role DMS assumes to read the secret. */
  public readonly secretAccessRole: iam.IRole;
  /** The `AWS::DMS::Endpoint`. */
  public readonly resource: dms.CfnEndpoint;

  public readonly databaseConnections?: ec2.IConnectable;

  constructor(scope: Construct, id: string, props: MySqlSourceEndpointProps) {
    super(scope, id);
    const owner = 'MySqlSourceEndpoint';
    const poll = props.eventsPollInterval;
    if (poll !== undefined && !poll.isUnresolved()) {
      const seconds = poll.toSeconds({ integral: false });
      if (!Number.isInteger(seconds) || seconds < 1) {
        throw new Error(`${owner}: eventsPollInterval must be a whole number of seconds, at least 1, got ${poll.toHumanString()}.`);
      }
    }
    const engine: SourceEngine = {
      owner,
      engineName: props.engine ?? MySqlSourceEngine.MYSQL,
      defaultPort: 3306,
      settingsProperty: 'MySqlSettings',
      sslModes: [SourceSslMode.REQUIRE, SourceSslMode.VERIFY_CA, SourceSslMode.VERIFY_FULL],
      defaultSslMode: SourceSslMode.REQUIRE,
    };
    const built = buildSourceEndpoint(this, engine, props, props.databaseName, {
      ServerTimezone: props.serverTimezone,
      EventsPollInterval: poll?.toSeconds(),
    });
    this.resource = built.resource;
    this.endpointArn = built.resource.ref;
    this.endpointIdentifier = built.endpointIdentifier;
    this.engineName = engine.engineName;
    this.port = built.port;
    this.sslMode = built.sslMode;
    this.secret = props.secret;
    this.secretAccessRole = built.accessRole;
    this.databaseConnections = props.databaseConnections;
  }

  /**
   * Open the database's port to `peer`. Needs `databaseConnections`. A migration task opens it to its
   * replication compute itself.
   */
  public allowFrom(peer: ec2.IConnectable): void {
    allowDatabaseAccess('MySqlSourceEndpoint', this.databaseConnections, this.port, peer,
      `DMS source endpoint ${this.node.path}`);
  }
}
