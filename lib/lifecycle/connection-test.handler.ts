// The AWS SDK comes from the Lambda runtime: the handler bundle marks it external.
import {
  Connection,
  DatabaseMigrationServiceClient,
  DescribeConnectionsCommand,
  TestConnectionCommand,
} from '@aws-sdk/client-database-migration-service';
import { NEON_REFUSAL_CAUSES, NeonRefusal, neonRefusalOf } from '../core/neon-refusals';
import type { IsCompleteResult, OnEventResult, ProviderRequest } from '../provider/handler-types';

/** Properties of a `Custom::DmsConnectionTest` resource. */
export interface ConnectionTestProperties {
  /** The endpoints tested. */
  readonly EndpointArns?: string[];
  /** The endpoint tested, in resources created before `EndpointArns`. */
  readonly EndpointArn?: string;
  readonly ReplicationInstanceArn: string;
  /** The source endpoints among the tested ones. */
  readonly Sources?: SourceEndpointDetails[];
}

/** A source endpoint: what its database needs so that the replication instance reaches it. */
export interface SourceEndpointDetails {
  readonly EndpointArn: string;
  readonly Port: string;
  /** The database's security groups, when the endpoint knows them. */
  readonly SecurityGroupIds?: string[];
}

/** One endpoint tested from one replication instance. */
interface ConnectionPair {
  readonly EndpointArn: string;
  readonly ReplicationInstanceArn: string;
}

/** Longest physical id CloudFormation accepts. */
const MAX_PHYSICAL_ID_LENGTH = 1024;

/** A failure message pattern DMS reports, and what to do about it. */
interface FailureHint {
  readonly pattern: RegExp;
  readonly hint: string;
}

/** What keeps the replication instance from reaching Neon (or any target on the internet). */
const TARGET_UNREACHABLE = 'The replication instance cannot reach the database: its subnets need a route to the internet. Place the replication '
  + 'instance in a NatEgressForReplication network (NAT gateway and Elastic IP; the test waits for its egressReady), and add the NAT '
  + 'Elastic IP to the Neon project\'s IP Allow list if it has one.';

const FAILURE_HINTS: FailureHint[] = [
  {
    pattern: /timeout expired|timed out|could not connect to server/i,
    hint: TARGET_UNREACHABLE,
  },
  {
    pattern: /no pg_hba\.conf entry[\s\S]*no encryption/i,
    hint: 'The server only accepts encrypted connections: set the endpoint\'s SSL mode to require.',
  },
  {
    pattern: /password authentication failed|authentication failed/i,
    hint: 'Check the user name and password in the endpoint\'s credentials secret.',
  },
  {
    pattern: /could not translate host name|name or service not known|unknown host/i,
    hint: 'The host name does not resolve from the replication instance: check the host, and that the VPC has DNS resolution enabled.',
  },
];

/** What to change when Neon refused a DMS endpoint: DMS sends no SNI, so its password carries the endpoint ID. */
const NEON_DMS_HINTS: Record<NeonRefusal, string> = {
  'endpoint-not-specified': `${NEON_REFUSAL_CAUSES['endpoint-not-specified']} DMS sends no SNI and has no endpoint option, so the endpoint's `
    + 'password must be endpoint=<endpoint_id>$<password>: NeonTargetEndpoint writes that form into its credentialsSecret. An endpoint that reads '
    + 'another secret (clientCredentialsSecret, which is for clients that send SNI, or a secret of your own) needs that form in its password field.',
  // PostgreSQL's own wording too: the target may be another PostgreSQL
  'password-failed': 'Check the user name and password in the endpoint\'s credentials secret. For a Neon target: '
    + `${NEON_REFUSAL_CAUSES['password-failed']} For the DMS endpoint: check that its secret (NeonTargetEndpoint.credentialsSecret) `
    + 'holds endpoint=<endpoint_id>$<password> with the role\'s current password; after a reset in the Neon console, update the connection-string '
    + 'secret and change connectionStringSecretRefresh (or pass the new password).',
  'endpoint-disabled': NEON_REFUSAL_CAUSES['endpoint-disabled'],
  'ip-not-allowed': NEON_REFUSAL_CAUSES['ip-not-allowed'],
  'inconsistent-endpoint': `${NEON_REFUSAL_CAUSES['inconsistent-endpoint']} Set neonEndpointId only for a host whose first label is not the endpoint ID.`,
  'endpoint-not-found': NEON_REFUSAL_CAUSES['endpoint-not-found'],
};

/** The hint for a source database the replication instance cannot reach: its security groups and network path. */
function sourceUnreachable(source: SourceEndpointDetails): string {
  const groups = source.SecurityGroupIds?.length
    ? `the database's security groups (${source.SecurityGroupIds.join(', ')}) must admit the replication instance's security group on TCP ${source.Port} `
      + '(DmsMigrationTask and DmsConnectionTest add that rule for endpoints that know their databaseConnections)'
    : `the database's security group must admit the replication instance's security group on TCP ${source.Port} (the endpoint does not know the `
      + 'database\'s security groups: pass databaseConnections, or add the rule yourself)';
  return `The replication instance cannot reach the source database: ${groups}, and the replication subnets need a network path to the `
    + 'database (the same VPC, or routes through VPC peering, a Transit Gateway or a VPN, with network ACLs that let the traffic pass). '
    + 'A NAT gateway or Neon\'s IP Allow list plays no part for the source.';
}

let client: DatabaseMigrationServiceClient | undefined;
function dms(): DatabaseMigrationServiceClient {
  client ??= new DatabaseMigrationServiceClient({ maxAttempts: 8 });
  return client;
}

/** The endpoints of a request: `EndpointArns`, or the single `EndpointArn` of older resources. */
export function endpointArnsOf(props: ConnectionTestProperties): string[] {
  const arns = props.EndpointArns ?? (props.EndpointArn !== undefined ? [props.EndpointArn] : []);
  if (arns.length === 0) {
    throw new Error('Custom::DmsConnectionTest needs EndpointArns (the endpoints to test).');
  }
  return arns;
}

function physicalIdOf(arns: string[], instanceArn: string): string {
  const id = `${arns.join(',')}|${instanceArn}`;
  return id.length <= MAX_PHYSICAL_ID_LENGTH ? id : `${arns[0]}+${arns.length - 1}|${instanceArn}`;
}

/**
 * Starts `TestConnection` for every endpoint unless a test of the same endpoint from the same
 * instance is already running; the results are awaited by `isComplete`.
 */
export async function onEvent(event: ProviderRequest): Promise<OnEventResult> {
  const props = event.ResourceProperties as unknown as ConnectionTestProperties;
  const arns = endpointArnsOf(props);
  const physicalId = physicalIdOf(arns, props.ReplicationInstanceArn);
  if (event.RequestType === 'Delete') {
    // A connection record goes away with its endpoint; there is nothing to undo.
    return { PhysicalResourceId: event.PhysicalResourceId ?? physicalId };
  }

  const current = await describeConnections(arns, props.ReplicationInstanceArn);
  for (const arn of arns) {
    const pair: ConnectionPair = { EndpointArn: arn, ReplicationInstanceArn: props.ReplicationInstanceArn };
    if (current.get(arn)?.Status === 'testing') {
      console.log('A connection test is already running; waiting for it', JSON.stringify(pair));
      continue;
    }
    try {
      await dms().send(new TestConnectionCommand(pair));
      console.log('Connection test started', JSON.stringify(pair));
    } catch (e) {
      // A test started since the check above (e.g. by a retried invocation) makes DMS refuse another.
      if (isError(e, 'InvalidResourceStateFault') && (await describeConnections([arn], pair.ReplicationInstanceArn)).get(arn)?.Status === 'testing') {
        console.log('A connection test is already running; waiting for it', JSON.stringify(pair));
      } else {
        throw e;
      }
    }
  }
  return { PhysicalResourceId: physicalId };
}

/**
 * Completes when every test succeeded; fails the deployment with DMS's message and a hint for
 * each failed one.
 */
export async function isComplete(event: ProviderRequest): Promise<IsCompleteResult> {
  if (event.RequestType === 'Delete') {
    return { IsComplete: true };
  }
  const props = event.ResourceProperties as unknown as ConnectionTestProperties;
  const arns = endpointArnsOf(props);
  const instanceArn = props.ReplicationInstanceArn;
  let connections: Map<string, Connection>;
  try {
    connections = await describeConnections(arns, instanceArn);
  } catch (e) {
    if (isError(e, 'ThrottlingException') || isError(e, 'Throttling') || isError(e, 'TooManyRequestsException')) {
      console.log('DescribeConnections throttled; polling again');
      return { IsComplete: false };
    }
    throw e;
  }

  const failures: string[] = [];
  let pending = false;
  for (const arn of arns) {
    const connection = connections.get(arn);
    const status = connection?.Status;
    const pair: ConnectionPair = { EndpointArn: arn, ReplicationInstanceArn: instanceArn };
    console.log('Connection status', JSON.stringify({ ...pair, Status: status ?? 'not found' }));
    switch (status) {
      case 'successful':
        break;
      case 'failed':
        failures.push(failureMessage(pair, connection?.LastFailureMessage, props.Sources?.find(source => source.EndpointArn === arn)));
        break;
      case 'deleting':
        failures.push(`The connection from ${instanceArn} to ${arn} is being deleted: the endpoint or the replication instance is going away.`);
        break;
      default:
        // 'testing', or not listed yet
        pending = true;
    }
  }
  if (failures.length > 0) {
    throw new Error(failures.join(' '));
  }
  return pending ? { IsComplete: false } : { IsComplete: true, Data: { Status: 'successful' } };
}

/** DMS's failure message followed by the hint for its known cause. */
export function failureMessage(pair: ConnectionPair, lastFailureMessage: string | undefined, source?: SourceEndpointDetails): string {
  const message = lastFailureMessage?.trim().replace(/\.+$/, '') || 'DMS reported no failure message';
  // Neon's refusals name what Neon wants; a source database is never Neon
  const neon = source ? undefined : neonRefusalOf(message);
  const known = FAILURE_HINTS.find(h => h.pattern.test(message));
  const text = neon ? NEON_DMS_HINTS[neon] : known && source && known.hint === TARGET_UNREACHABLE ? sourceUnreachable(source) : known?.hint;
  const hint = text ? ` Hint: ${text}` : '';
  return `Connection test from ${pair.ReplicationInstanceArn} to ${pair.EndpointArn} failed: ${message}.${hint}`;
}

/** The connection records of `arns` from the instance, by endpoint ARN. */
async function describeConnections(arns: string[], instanceArn: string): Promise<Map<string, Connection>> {
  const result = await dms().send(new DescribeConnectionsCommand({
    Filters: [
      { Name: 'endpoint-arn', Values: arns },
      { Name: 'replication-instance-arn', Values: [instanceArn] },
    ],
  }));
  const byArn = new Map<string, Connection>();
  for (const connection of result.Connections ?? []) {
    if (connection.EndpointArn !== undefined) {
      byArn.set(connection.EndpointArn, connection);
    }
  }
  return byArn;
}

function isError(e: unknown, name: string): boolean {
  return typeof e === 'object' && e !== null && ((e as { name?: string }).name === name || (e as { Code?: string }).Code === name);
}
