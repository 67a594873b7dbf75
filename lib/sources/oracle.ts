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

/**
 * Properties of an `OracleSourceEndpoint`.
 */
export interface OracleSourceEndpointProps extends SourceEndpointCommonOptions, SourceConnectionOptions {
  /** The Oracle service name (SID) to connect to. */
  readonly databaseName: string;

  /**
   * Read changes with Oracle LogMiner (`true`) or with DMS Binary Reader (`false`, needed for
   * some features such as ASM and large redo volumes).
   *
   * @default true
   */
  readonly useLogMinerReader?: boolean;

  /**
   * Let DMS add supplemental logging to the captured tables itself (needs `ALTER` on them).
   *
   * @default false
   */
  readonly addSupplementalLogging?: boolean;

  /**
   * Fail the task when a LOB is larger than the task's LOB size, instead of truncating it silently.
   *
   * @default true
   */
  readonly failTasksOnLobTruncation?: boolean;
}

/**
 * A DMS source endpoint for Oracle, reading its credentials from a Secrets Manager secret through
 * a role DMS assumes.
 *
 * DMS supports SSL for Oracle sources only as `verify-ca`, with the Oracle wallet imported as a DMS
 * certificate: pass its ARN as `certificateArn`. CDC needs ARCHIVELOG mode and supplemental logging.
 */
export class OracleSourceEndpoint extends Resource implements IDmsEndpoint {
  /** An Oracle source endpoint created elsewhere, by its ARN. */
  public static fromEndpointArn(scope: Construct, id: string, endpointArn: string): IDmsEndpoint {
    return OracleSourceEndpoint.fromEndpointAttributes(scope, id, { endpointArn });
  }

  /** An Oracle source endpoint created elsewhere. */
  public static fromEndpointAttributes(scope: Construct, id: string, attrs: SourceEndpointAttributes): IDmsEndpoint {
    return importEndpoint(scope, id, { ...attrs, owner: 'OracleSourceEndpoint', endpointType: EndpointType.SOURCE, engineName: 'oracle', port: attrs.port ?? 1521 });
  }

  public readonly endpointArn: string;
  public readonly endpointIdentifier: string;
  public readonly endpointType: EndpointType = EndpointType.SOURCE;
  public readonly engineName: string = 'oracle';
  public readonly port: number;
  /** The service name connected to. */
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

  constructor(scope: Construct, id: string, props: OracleSourceEndpointProps) {
    super(scope, id);
    const engine: SourceEngine = {
      owner: 'OracleSourceEndpoint',
      engineName: this.engineName,
      defaultPort: 1521,
      settingsProperty: 'OracleSettings',
      sslModes: [SourceSslMode.VERIFY_CA],
      defaultSslMode: SourceSslMode.VERIFY_CA,
    };
    const built = buildSourceEndpoint(this, engine, props, props.databaseName, {
      UseLogminerReader: props.useLogMinerReader,
      // Binary Reader needs UseBFile as well.
      UseBFile: props.useLogMinerReader === false ? true : undefined,
      AddSupplementalLogging: props.addSupplementalLogging,
      FailTasksOnLobTruncation: props.failTasksOnLobTruncation ?? true,
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
    allowDatabaseAccess('OracleSourceEndpoint', this.databaseConnections, this.port, peer,
      `DMS source endpoint ${this.node.path}`);
  }
}
