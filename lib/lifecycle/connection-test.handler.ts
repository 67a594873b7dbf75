// The AWS SDK comes from the Lambda runtime: the handler bundle marks it external.
import {
  Connection,
  DatabaseMigrationServiceClient,
  DescribeConnectionsCommand,
  TestConnectionCommand,
} from '@aws-sdk/client-database-migration-service';
import type { IsCompleteResult, OnEventResult, ProviderRequest } from './handler-types';

/** Properties of a `Custom::DmsConnectionTest` resource. */
export interface ConnectionTestProperties {
  readonly EndpointArn: string;
  readonly ReplicationInstanceArn: string;
}

/** A failure message pattern DMS reports, and what to do about it. */
interface FailureHint {
  readonly pattern: RegExp;
  readonly hint: string;
}

const FAILURE_HINTS: FailureHint[] = [
  {
    pattern: /timeout expired|timed out|could not connect to server/i,
    hint: 'The replication instance cannot reach the database: its subnets need a route to the internet. Add NAT egress '
      + '(NatEgressForReplication) for the replication subnets, make this connection test depend on the route (dependsOn: [network.egressReady]), '
      + 'and add the NAT Elastic IP to the Neon project\'s IP Allow list if it has one.',
  },
  {
    pattern: /no pg_hba\.conf entry[\s\S]*no encryption/i,
    hint: 'The server only accepts encrypted connections: set the endpoint\'s SSL mode to require.',
  },
  {
    pattern: /endpoint ID is not specified/i,
    hint: 'Neon needs the endpoint ID in the password because DMS sends no SNI: the password must be endpoint=<endpoint_id>$<password> '
      + '(NeonTargetEndpoint builds it; check the password field of the endpoint\'s credentials secret).',
  },
  {
    pattern: /password authentication failed|authentication failed/i,
    hint: 'Check the user name and password in the endpoint\'s credentials secret (for Neon: the password from the Neon console, '
      + 'written as endpoint=<endpoint_id>$<password>).',
  },
  {
    pattern: /could not translate host name|name or service not known|unknown host/i,
    hint: 'The host name does not resolve from the replication instance: check the host, and that the VPC has DNS resolution enabled.',
  },
];

let client: DatabaseMigrationServiceClient | undefined;
function dms(): DatabaseMigrationServiceClient {
  client ??= new DatabaseMigrationServiceClient({ maxAttempts: 8 });
  return client;
}

/**
 * Starts `TestConnection` unless a test of the same endpoint from the same instance is already
 * running; the result is awaited by `isComplete`.
 */
export async function onEvent(event: ProviderRequest): Promise<OnEventResult> {
  const props = event.ResourceProperties as unknown as ConnectionTestProperties;
  const physicalId = `${props.EndpointArn}|${props.ReplicationInstanceArn}`;
  if (event.RequestType === 'Delete') {
    // A connection record goes away with its endpoint; there is nothing to undo.
    return { PhysicalResourceId: event.PhysicalResourceId ?? physicalId };
  }

  const current = await describeConnection(props);
  if (current?.Status === 'testing') {
    console.log('A connection test is already running; waiting for it', JSON.stringify(props));
    return { PhysicalResourceId: physicalId };
  }
  try {
    await dms().send(new TestConnectionCommand({
      EndpointArn: props.EndpointArn,
      ReplicationInstanceArn: props.ReplicationInstanceArn,
    }));
    console.log('Connection test started', JSON.stringify(props));
  } catch (e) {
    // A test started since the check above (e.g. by a retried invocation) makes DMS refuse another.
    if (isError(e, 'InvalidResourceStateFault') && (await describeConnection(props))?.Status === 'testing') {
      console.log('A connection test is already running; waiting for it', JSON.stringify(props));
    } else {
      throw e;
    }
  }
  return { PhysicalResourceId: physicalId };
}

/** Completes when the test succeeded; fails the deployment with DMS's message and a hint when it failed. */
export async function isComplete(event: ProviderRequest): Promise<IsCompleteResult> {
  if (event.RequestType === 'Delete') {
    return { IsComplete: true };
  }
  const props = event.ResourceProperties as unknown as ConnectionTestProperties;
  let connection: Connection | undefined;
  try {
    connection = await describeConnection(props);
  } catch (e) {
    if (isError(e, 'ThrottlingException') || isError(e, 'Throttling') || isError(e, 'TooManyRequestsException')) {
      console.log('DescribeConnections throttled; polling again');
      return { IsComplete: false };
    }
    throw e;
  }

  const status = connection?.Status;
  console.log('Connection status', JSON.stringify({ ...props, Status: status ?? 'not found' }));
  switch (status) {
    case 'successful':
      return { IsComplete: true, Data: { Status: status } };
    case 'failed':
      throw new Error(failureMessage(props, connection?.LastFailureMessage));
    case 'deleting':
      throw new Error(`The connection from ${props.ReplicationInstanceArn} to ${props.EndpointArn} is being deleted: the endpoint or the replication instance is going away.`);
    default:
      // 'testing', or not listed yet
      return { IsComplete: false };
  }
}

/** DMS's failure message followed by the hint for its known cause. */
export function failureMessage(props: ConnectionTestProperties, lastFailureMessage: string | undefined): string {
  const message = lastFailureMessage?.trim().replace(/\.+$/, '') || 'DMS reported no failure message';
  const known = FAILURE_HINTS.find(h => h.pattern.test(message));
  const hint = known ? ` Hint: ${known.hint}` : '';
  return `Connection test from ${props.ReplicationInstanceArn} to ${props.EndpointArn} failed: ${message}.${hint}`;
}

async function describeConnection(props: ConnectionTestProperties): Promise<Connection | undefined> {
  const result = await dms().send(new DescribeConnectionsCommand({
    Filters: [
      { Name: 'endpoint-arn', Values: [props.EndpointArn] },
      { Name: 'replication-instance-arn', Values: [props.ReplicationInstanceArn] },
    ],
  }));
  return result.Connections?.[0];
}

function isError(e: unknown, name: string): boolean {
  return typeof e === 'object' && e !== null && ((e as { name?: string }).name === name || (e as { Code?: string }).Code === name);
}
