import { Fn, Resource, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { validateDmsArn, validateDmsIdentifier } from './identifiers';
import { EndpointType, IDmsEndpoint } from './interfaces';

/**
 * What an endpoint class knows about the endpoints it imports, and what the caller gave.
 *
 * @internal
 */
export interface ImportedEndpointSpec {
  /** The class name, for messages. */
  readonly owner: string;
  readonly endpointArn: string;
  readonly endpointType: EndpointType;
  readonly engineName: string;
  readonly port: number;
  readonly endpointIdentifier?: string;
  readonly databaseConnections?: ec2.IConnectable;
  /** PostgreSQL sources: the major version, for the engine-version check of a migration task. */
  readonly engineMajorVersion?: number;
}

/**
 * A DMS endpoint created elsewhere, e.g. by another stack or in the console.
 *
 * @internal
 */
export function importEndpoint(scope: Construct, id: string, spec: ImportedEndpointSpec): IDmsEndpoint {
  validateDmsArn(`${spec.owner}.fromEndpointAttributes`, spec.endpointArn, 'endpointArn', 'endpoint');
  const port = spec.port;
  if (!Token.isUnresolved(port) && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new Error(`${spec.owner}.fromEndpointAttributes: port must be a TCP port from 1 to 65535, got ${port}.`);
  }
  const identifier = spec.endpointIdentifier !== undefined
    ? validateDmsIdentifier(`${spec.owner}.fromEndpointAttributes`, 'endpointIdentifier', spec.endpointIdentifier, 255)
    : resourceIdOf(spec.endpointArn);

  class Imported extends Resource implements IDmsEndpoint {
    public readonly endpointArn = spec.endpointArn;
    public readonly endpointIdentifier = identifier;
    public readonly endpointType = spec.endpointType;
    public readonly engineName = spec.engineName;
    public readonly port = port;
    public readonly databaseConnections = spec.databaseConnections;
    public readonly engineMajorVersion = spec.engineMajorVersion;
  }
  return new Imported(scope, id, { environmentFromArn: spec.endpointArn });
}

/** The last part of a DMS ARN: the resource id (`arn:aws:dms:<region>:<account>:endpoint:<id>`). */
function resourceIdOf(arn: string): string {
  return Token.isUnresolved(arn) ? Fn.select(6, Fn.split(':', arn)) : arn.split(':')[6];
}
