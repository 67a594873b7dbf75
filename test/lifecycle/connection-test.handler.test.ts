import {
  DatabaseMigrationServiceClient,
  DescribeConnectionsCommand,
  InvalidResourceStateFault,
  TestConnectionCommand,
} from '@aws-sdk/client-database-migration-service';
import { mockClient } from 'aws-sdk-client-mock';
import { isComplete, onEvent } from '../../lib/lifecycle/connection-test.handler';
import type { ProviderRequest } from '../../lib/provider/handler-types';

const dms = mockClient(DatabaseMigrationServiceClient);

const ENDPOINT = 'arn:aws:dms:us-east-2:123456789012:endpoint:NEONTARGET';
const INSTANCE = 'arn:aws:dms:us-east-2:123456789012:rep:INSTANCE1';
const PHYSICAL_ID = `${ENDPOINT}|${INSTANCE}`;
const SOURCE = 'arn:aws:dms:us-east-2:123456789012:endpoint:SOURCEPG';
const OTHER = 'arn:aws:dms:us-east-2:123456789012:endpoint:OTHER';
const FILTERS = [
  { Name: 'endpoint-arn', Values: [ENDPOINT] },
  { Name: 'replication-instance-arn', Values: [INSTANCE] },
];

function request(requestType: 'Create' | 'Update' | 'Delete', props: Record<string, unknown> = {}): ProviderRequest {
  return {
    RequestType: requestType,
    ResourceType: 'Custom::DmsConnectionTest',
    LogicalResourceId: 'ConnectionTest',
    StackId: 'arn:aws:cloudformation:us-east-2:123456789012:stack/S/1',
    RequestId: 'r-1',
    ResourceProperties: { ServiceToken: 'x', EndpointArns: [ENDPOINT], ReplicationInstanceArn: INSTANCE, ...props },
    OldResourceProperties: requestType === 'Update' ? { ServiceToken: 'x', EndpointArns: [ENDPOINT], ReplicationInstanceArn: 'arn:aws:dms:us-east-2:123456789012:rep:OLD' } : undefined,
    PhysicalResourceId: requestType === 'Create' ? undefined : PHYSICAL_ID,
  };
}

function connectionStatus(status: string, lastFailureMessage?: string) {
  dms.on(DescribeConnectionsCommand).resolves({
    Connections: [{ EndpointArn: ENDPOINT, ReplicationInstanceArn: INSTANCE, Status: status, LastFailureMessage: lastFailureMessage }],
  });
}

beforeEach(() => {
  dms.reset();
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

describe('onEvent', () => {
  test.each(['Create', 'Update'] as const)('%s starts TestConnection for the endpoint and instance', async (requestType) => {
    connectionStatus('failed', 'an older result');
    dms.on(TestConnectionCommand).resolves({ Connection: { Status: 'testing' } });

    const result = await onEvent(request(requestType));

    expect(result).toEqual({ PhysicalResourceId: PHYSICAL_ID });
    expect(dms.commandCalls(DescribeConnectionsCommand)[0].args[0].input).toEqual({ Filters: FILTERS });
    expect(dms.commandCalls(TestConnectionCommand).map(c => c.args[0].input)).toEqual([
      { EndpointArn: ENDPOINT, ReplicationInstanceArn: INSTANCE },
    ]);
  });

  test('starts a test when the pair was never tested', async () => {
    dms.on(DescribeConnectionsCommand).resolves({ Connections: [] });
    dms.on(TestConnectionCommand).resolves({});

    await onEvent(request('Create'));

    expect(dms.commandCalls(TestConnectionCommand)).toHaveLength(1);
  });

  test('does not restart a test that is already running', async () => {
    connectionStatus('testing');

    const result = await onEvent(request('Create'));

    expect(result).toEqual({ PhysicalResourceId: PHYSICAL_ID });
    expect(dms.commandCalls(TestConnectionCommand)).toHaveLength(0);
  });

  test('treats InvalidResourceStateFault for a running test as started', async () => {
    dms.on(DescribeConnectionsCommand)
      .resolvesOnce({ Connections: [] })
      .resolves({ Connections: [{ EndpointArn: ENDPOINT, ReplicationInstanceArn: INSTANCE, Status: 'testing' }] });
    dms.on(TestConnectionCommand).rejects(new InvalidResourceStateFault({ message: 'A test connection is already in progress', $metadata: {} }));

    await expect(onEvent(request('Create'))).resolves.toEqual({ PhysicalResourceId: PHYSICAL_ID });
    expect(dms.commandCalls(DescribeConnectionsCommand)).toHaveLength(2);
  });

  test('fails on another InvalidResourceStateFault (e.g. an instance that is not available)', async () => {
    dms.on(DescribeConnectionsCommand).resolves({ Connections: [] });
    dms.on(TestConnectionCommand).rejects(new InvalidResourceStateFault({ message: 'Replication instance is not available', $metadata: {} }));

    await expect(onEvent(request('Create'))).rejects.toThrow('Replication instance is not available');
  });

  test('delete calls nothing', async () => {
    await expect(onEvent(request('Delete'))).resolves.toEqual({ PhysicalResourceId: PHYSICAL_ID });
    expect(dms.calls()).toHaveLength(0);
  });

  test('tests every endpoint, except one whose test is already running, after one DescribeConnections', async () => {
    dms.on(DescribeConnectionsCommand).resolves({
      Connections: [
        { EndpointArn: SOURCE, ReplicationInstanceArn: INSTANCE, Status: 'successful' },
        { EndpointArn: ENDPOINT, ReplicationInstanceArn: INSTANCE, Status: 'testing' },
      ],
    });
    dms.on(TestConnectionCommand).resolves({});

    const result = await onEvent(request('Create', { EndpointArns: [SOURCE, ENDPOINT, OTHER] }));

    expect(result).toEqual({ PhysicalResourceId: `${SOURCE},${ENDPOINT},${OTHER}|${INSTANCE}` });
    expect(dms.commandCalls(DescribeConnectionsCommand).map(c => c.args[0].input)).toEqual([{
      Filters: [
        { Name: 'endpoint-arn', Values: [SOURCE, ENDPOINT, OTHER] },
        { Name: 'replication-instance-arn', Values: [INSTANCE] },
      ],
    }]);
    expect(dms.commandCalls(TestConnectionCommand).map(c => c.args[0].input)).toEqual([
      { EndpointArn: SOURCE, ReplicationInstanceArn: INSTANCE },
      { EndpointArn: OTHER, ReplicationInstanceArn: INSTANCE },
    ]);
  });

  test('accepts the single EndpointArn of resources created before EndpointArns', async () => {
    dms.on(DescribeConnectionsCommand).resolves({ Connections: [] });
    dms.on(TestConnectionCommand).resolves({});

    const result = await onEvent(request('Update', { EndpointArns: undefined, EndpointArn: ENDPOINT }));

    expect(result).toEqual({ PhysicalResourceId: PHYSICAL_ID });
    expect(dms.commandCalls(TestConnectionCommand).map(c => c.args[0].input)).toEqual([
      { EndpointArn: ENDPOINT, ReplicationInstanceArn: INSTANCE },
    ]);
  });

  test('fails without any endpoint', async () => {
    await expect(onEvent(request('Create', { EndpointArns: [] })))
      .rejects.toThrow('Custom::DmsConnectionTest needs EndpointArns (the endpoints to test).');
    expect(dms.calls()).toHaveLength(0);
  });
});

describe('isComplete', () => {
  test('completes when the test succeeded', async () => {
    connectionStatus('successful');

    await expect(isComplete(request('Create'))).resolves.toEqual({ IsComplete: true, Data: { Status: 'successful' } });
    expect(dms.commandCalls(DescribeConnectionsCommand)[0].args[0].input).toEqual({ Filters: FILTERS });
    expect(dms.commandCalls(TestConnectionCommand)).toHaveLength(0);
  });

  test('is not complete while DMS is still testing', async () => {
    connectionStatus('testing');
    await expect(isComplete(request('Create'))).resolves.toEqual({ IsComplete: false });
  });

  test('is not complete while the connection is not listed yet', async () => {
    dms.on(DescribeConnectionsCommand).resolves({ Connections: [] });
    await expect(isComplete(request('Update'))).resolves.toEqual({ IsComplete: false });
  });

  test('is not complete when DescribeConnections is throttled', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    dms.on(DescribeConnectionsCommand).rejects(throttled);
    await expect(isComplete(request('Create'))).resolves.toEqual({ IsComplete: false });
  });

  test('other DescribeConnections errors fail', async () => {
    dms.on(DescribeConnectionsCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    await expect(isComplete(request('Create'))).rejects.toThrow('not authorized');
  });

  test('delete completes at once', async () => {
    await expect(isComplete(request('Delete'))).resolves.toEqual({ IsComplete: true });
    expect(dms.calls()).toHaveLength(0);
  });

  test('the connection being deleted fails', async () => {
    connectionStatus('deleting');
    await expect(isComplete(request('Create'))).rejects.toThrow(
      `The connection from ${INSTANCE} to ${ENDPOINT} is being deleted: the endpoint or the replication instance is going away.`);
  });

  const prefix = `Connection test from ${INSTANCE} to ${ENDPOINT} failed: `;
  test.each([
    [
      'Endpoint failed: Application-Status: 1020912, Application-Message: Cannot connect to ODBC provider Network error has occurred, Application-Detailed-Message: RetCode: SQL_ERROR SqlState: 08001 NativeError: 101 Message: timeout expired',
      'Hint: The replication instance cannot reach the database: its subnets need a route to the internet. Place the replication instance in a '
        + 'NatEgressForReplication network (NAT gateway and Elastic IP; the test waits for its egressReady), and add the NAT Elastic IP to the Neon project\'s IP Allow list if it has one.',
    ],
    [
      'Test Endpoint failed: Application-Status: 1020912, Application-Message: Failed to connect Network error has occurred, Application-Detailed-Message: RetCode: SQL_ERROR SqlState: 08001 NativeError: 101 Message: FATAL: no pg_hba.conf entry for host "10.0.1.135", user "postgres", database "dms_sample", no encryption',
      'Hint: The server only accepts encrypted connections: set the endpoint\'s SSL mode to require.',
    ],
    [
      'Message: ERROR: The endpoint ID is not specified. Either please upgrade the postgres client library (libpq) for SNI support or pass the endpoint ID (the first part of the domain name) as a parameter',
      'Hint: Neon did not learn which compute endpoint the connection is for: the client sent no TLS SNI, no endpoint option and no '
        + 'endpoint=<endpoint_id>$ before the password. DMS sends no SNI and has no endpoint option, so the endpoint\'s password must be '
        + 'endpoint=<endpoint_id>$<password>: NeonTargetEndpoint writes that form into its credentialsSecret. An endpoint that reads another secret '
        + '(clientCredentialsSecret, which is for clients that send SNI, or a secret of your own) needs that form in its password field.',
    ],
    [
      'Message: FATAL: password authentication failed for user "daniel"',
      'Hint: Check the user name and password in the endpoint\'s credentials secret. For a Neon target: Neon refused the password. Neon reads endpoint=<endpoint_id>$<password> only from a client that sends no TLS SNI; from a client that '
        + 'sends SNI it takes the whole string for the password, so the form must fit the client, as well as the password the role\'s. For the DMS '
        + 'endpoint: check that its secret (NeonTargetEndpoint.credentialsSecret) holds endpoint=<endpoint_id>$<password> with the role\'s current '
        + 'password; after a reset in the Neon console, update the connection-string secret and change connectionStringSecretRefresh (or pass the new password).',
    ],
    [
      'Message: ERROR: The endpoint has been disabled. Enable it using Neon API and retry',
      'Hint: The Neon compute endpoint is disabled: enable it in the Neon console (the branch\'s compute) or with the Neon API, then deploy again.',
    ],
    [
      'Message: ERROR: This IP address 3.14.15.92 is not allowed to connect to this endpoint. Please add it to the allowed list in the Neon console',
      'Hint: The Neon project\'s IP Allow list does not hold the address the connection comes from: add the NAT gateway\'s Elastic IP '
        + '(NatEgressForReplication) to it.',
    ],
    [
      'Message: could not translate host name "ep-x.us-east-2.aws.neon.tech" to address',
      'Hint: The host name does not resolve from the replication instance: check the host, and that the VPC has DNS resolution enabled.',
    ],
  ])('a failed test reports DMS\'s message and the hint (%#)', async (lastFailureMessage, hint) => {
    connectionStatus('failed', lastFailureMessage);
    await expect(isComplete(request('Create'))).rejects.toThrow(new Error(`${prefix}${lastFailureMessage}. ${hint}`));
  });

  describe('a source database that cannot be reached: its security groups and network path, not NAT or IP Allow', () => {
    const TIMEOUT = 'Endpoint failed: Application-Status: 1020912, Application-Message: Cannot connect to ODBC provider Network error has occurred, '
      + 'Application-Detailed-Message: RetCode: SQL_ERROR SqlState: 08001 NativeError: 101 Message: timeout expired';
    function failedSource(sources: unknown) {
      dms.on(DescribeConnectionsCommand).resolves({
        Connections: [
          { EndpointArn: SOURCE, ReplicationInstanceArn: INSTANCE, Status: 'failed', LastFailureMessage: TIMEOUT },
          { EndpointArn: ENDPOINT, ReplicationInstanceArn: INSTANCE, Status: 'successful' },
        ],
      });
      return isComplete(request('Create', { EndpointArns: [SOURCE, ENDPOINT], Sources: sources }));
    }

    test('with the database\'s security groups known: names them and the port', async () => {
      const error = await failedSource([{ EndpointArn: SOURCE, Port: '5432', SecurityGroupIds: ['sg-0123456789abcdef0'] }]).then(() => new Error('no failure'), (e: Error) => e);
      expect(error).toEqual(new Error(`Connection test from ${INSTANCE} to ${SOURCE} failed: ${TIMEOUT}. Hint: The replication instance cannot reach the source `
        + 'database: the database\'s security groups (sg-0123456789abcdef0) must admit the replication instance\'s security group on TCP 5432 '
        + '(DmsMigrationTask and DmsConnectionTest add that rule for endpoints that know their databaseConnections), and the replication subnets '
        + 'need a network path to the database (the same VPC, or routes through VPC peering, a Transit Gateway or a VPN, with network ACLs that '
        + 'let the traffic pass). A NAT gateway or Neon\'s IP Allow list plays no part for the source.'));
    });

    test('without them: says the endpoint does not know them', async () => {
      const error = await failedSource([{ EndpointArn: SOURCE, Port: '3306', SecurityGroupIds: [] }]).then(() => new Error('no failure'), (e: Error) => e);
      expect(error.message).toContain('the database\'s security group must admit the replication instance\'s security group on TCP 3306 (the endpoint does not '
        + 'know the database\'s security groups: pass databaseConnections, or add the rule yourself)');
      expect(error.message).not.toMatch(/NatEgressForReplication|Elastic IP/);
    });

    test('a target in the same request keeps the NAT and IP Allow hint', async () => {
      dms.on(DescribeConnectionsCommand).resolves({
        Connections: [
          { EndpointArn: SOURCE, ReplicationInstanceArn: INSTANCE, Status: 'successful' },
          { EndpointArn: ENDPOINT, ReplicationInstanceArn: INSTANCE, Status: 'failed', LastFailureMessage: TIMEOUT },
        ],
      });
      const error = await isComplete(request('Create', { EndpointArns: [SOURCE, ENDPOINT], Sources: [{ EndpointArn: SOURCE, Port: '5432' }] }))
        .then(() => new Error('no failure'), (e: Error) => e);
      expect(error.message).toContain(`to ${ENDPOINT} failed`);
      expect(error.message).toContain('NatEgressForReplication');
    });
  });

  test('a source\'s password refusal gets the general hint: a source database is never Neon', async () => {
    dms.on(DescribeConnectionsCommand).resolves({
      Connections: [{ EndpointArn: SOURCE, ReplicationInstanceArn: INSTANCE, Status: 'failed', LastFailureMessage: 'Message: FATAL: password authentication failed for user "app"' }],
    });
    const error = await isComplete(request('Create', { EndpointArns: [SOURCE], Sources: [{ EndpointArn: SOURCE, Port: '5432' }] }))
      .then(() => new Error('no failure'), (e: Error) => e);
    expect(error.message).toMatch(/Hint: Check the user name and password in the endpoint's credentials secret\.$/);
  });

  test('an unknown failure is reported without a hint', async () => {
    connectionStatus('failed', 'Something new went wrong.');
    await expect(isComplete(request('Create'))).rejects.toThrow(new Error(`${prefix}Something new went wrong.`));
  });

  test('with several endpoints: complete only when every test succeeded', async () => {
    const props = { EndpointArns: [SOURCE, ENDPOINT] };
    dms.on(DescribeConnectionsCommand).resolves({
      Connections: [
        { EndpointArn: SOURCE, ReplicationInstanceArn: INSTANCE, Status: 'successful' },
        { EndpointArn: ENDPOINT, ReplicationInstanceArn: INSTANCE, Status: 'testing' },
      ],
    });
    await expect(isComplete(request('Create', props))).resolves.toEqual({ IsComplete: false });

    dms.on(DescribeConnectionsCommand).resolves({
      Connections: [
        { EndpointArn: ENDPOINT, ReplicationInstanceArn: INSTANCE, Status: 'successful' },
        { EndpointArn: SOURCE, ReplicationInstanceArn: INSTANCE, Status: 'successful' },
      ],
    });
    await expect(isComplete(request('Create', props))).resolves.toEqual({ IsComplete: true, Data: { Status: 'successful' } });
    expect(dms.commandCalls(DescribeConnectionsCommand)[1].args[0].input).toEqual({
      Filters: [
        { Name: 'endpoint-arn', Values: [SOURCE, ENDPOINT] },
        { Name: 'replication-instance-arn', Values: [INSTANCE] },
      ],
    });
  });

  test('with several endpoints: every failure is reported, even while another test runs', async () => {
    dms.on(DescribeConnectionsCommand).resolves({
      Connections: [
        { EndpointArn: SOURCE, ReplicationInstanceArn: INSTANCE, Status: 'failed', LastFailureMessage: 'Something new went wrong.' },
        { EndpointArn: ENDPOINT, ReplicationInstanceArn: INSTANCE, Status: 'testing' },
        { EndpointArn: OTHER, ReplicationInstanceArn: INSTANCE, Status: 'failed', LastFailureMessage: 'Message: FATAL: password authentication failed for user "daniel"' },
      ],
    });
    await expect(isComplete(request('Create', { EndpointArns: [SOURCE, ENDPOINT, OTHER] }))).rejects.toThrow(new Error(
      `Connection test from ${INSTANCE} to ${SOURCE} failed: Something new went wrong. `
      + `Connection test from ${INSTANCE} to ${OTHER} failed: Message: FATAL: password authentication failed for user "daniel". `
      + 'Hint: Check the user name and password in the endpoint\'s credentials secret. For a Neon target: Neon refused the password. Neon reads '
      + 'endpoint=<endpoint_id>$<password> only from a client that sends no TLS SNI; from a client that sends SNI it takes the whole string for the '
      + 'password, so the form must fit the client, as well as the password the role\'s. For the DMS endpoint: check that its secret '
      + '(NeonTargetEndpoint.credentialsSecret) holds endpoint=<endpoint_id>$<password> with the role\'s current password; after a reset in the '
      + 'Neon console, update the connection-string secret and change connectionStringSecretRefresh (or pass the new password).'));
  });

  test('a failure without message says so', async () => {
    connectionStatus('failed');
    await expect(isComplete(request('Create'))).rejects.toThrow(new Error(`${prefix}DMS reported no failure message.`));
  });
});
