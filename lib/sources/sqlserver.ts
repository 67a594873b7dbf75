import { Resource } from 'aws-cdk-lib';
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

/** How DMS keeps SQL Server from truncating the transaction log before changes are read. */
export enum SqlServerSafeguardPolicy {
  /** Rely on the SQL Server replication agent (needs MS-Replication). */
  RELY_ON_SQL_SERVER_REPLICATION_AGENT = 'rely-on-sql-server-replication-agent',
  /** DMS holds open transactions and truncates the log itself (only one task per database). */
  EXCLUSIVE_AUTOMATIC_TRUNCATION = 'exclusive-automatic-truncation',
  /** Like exclusive, but several tasks may share the database. */
  SHARED_AUTOMATIC_TRUNCATION = 'shared-automatic-truncation',
}

/**
 * Properties of a `SqlServerSourceEndpoint`.
 */
export interface SqlServerSourceEndpointProps extends SourceEndpointCommonOptions, SourceConnectionOptions {
  /** Name of the database to migrate. */
  readonly databaseName: string;

  /**
   * How the transaction log is kept for CDC.
   *
   * @default - DMS's default (`rely-on-sql-server-replication-agent`)
   */
  readonly safeguardPolicy?: SqlServerSafeguardPolicy;

  /**
   * Read changes from transaction log backups only (less load on the active log).
   *
   * @default false
   */
  readonly readBackupOnly?: boolean;

  /**
   * With an Always On availability group: read from the node connected to only.
   *
   * @default false
   */
  readonly querySingleAlwaysOnNode?: boolean;
}

/**
 * A DMS source endpoint for Microsoft SQL Server, reading its credentials from a Secrets Manager
 * secret through a role DMS assumes. SSL mode `require` by default (`verify-full` with a
 * certificate also works; DMS does not support `verify-ca` for SQL Server).
 */
export class SqlServerSourceEndpoint extends Resource implements IDmsEndpoint {
  /** A SQL Server source endpoint created elsewhere, by its ARN. */
  public static fromEndpointArn(scope: Construct, id: string, endpointArn: string): IDmsEndpoint {
    return SqlServerSourceEndpoint.fromEndpointAttributes(scope, id, { endpointArn });
  }

  /** A SQL Server source endpoint created elsewhere. */
  public static fromEndpointAttributes(scope: Construct, id: string, attrs: SourceEndpointAttributes): IDmsEndpoint {
    return importEndpoint(scope, id, { ...attrs, owner: 'SqlServerSourceEndpoint', endpointType: EndpointType.SOURCE, engineName: 'sqlserver', port: attrs.port ?? 1433 });
  }

  public readonly endpointArn: string;
  public readonly endpointIdentifier: string;
  public readonly endpointType: EndpointType = EndpointType.SOURCE;
  public readonly engineName: string = 'sqlserver';
  public readonly port: number;
  /** The database migrated. */
  public readonly databaseName: string;
  /** SSL mode of the connection. */
  public readonly sslMode: SourceSslMode;
  /** The credentials secret DMS reads. */
  public readonly secret: secretsmanager.ISecret;
  /** The role DMS assumes to read the secret. */
  public readonly secretAccessRole: iam.IRole;
  /** The `AWS::DMS::Endpoint`. */
  public readonly resource: dms.CfnEndpoint;

  public readonly databaseConnections?: ec2.IConnectable;

  constructor(scope: Construct, id: string, props: SqlServerSourceEndpointProps) {
    super(scope, id);
    const engine: SourceEngine = {
      owner: 'SqlServerSourceEndpoint',
      engineName: this.engineName,
      defaultPort: 1433,
      settingsProperty: 'MicrosoftSqlServerSettings',
      sslModes: [SourceSslMode.REQUIRE, SourceSslMode.VERIFY_FULL],
      defaultSslMode: SourceSslMode.REQUIRE,
    };
    const built = buildSourceEndpoint(this, engine, props, props.databaseName, {
      SafeguardPolicy: props.safeguardPolicy,
      ReadBackupOnly: props.readBackupOnly,
      QuerySingleAlwaysOnNode: props.querySingleAlwaysOnNode,
    });
    this.resource = built.resource;
    this.endpointArn = built.resource.ref;
    this.endpointIdentifier = built.endpointIdentifier;
    this.port = built.port;
    this.sslMode = built.sslMode;
    this.databaseName = props.databaseName;
    this.secret = props.secret;
    this.secretAccessRole = built.accessRole;
    this.databaseConnections = props.databaseConnections;
  }

  /**
   * Open the database's port to `peer`. Needs `databaseConnections`. A migration task opens it to its
   * replication compute itself.
   */
  public allowFrom(peer: ec2.IConnectable): void {
    allowDatabaseAccess('SqlServerSourceEndpoint', this.databaseConnections, this.port, peer,
      `DMS source endpoint ${this.node.path}`);
  }
}
