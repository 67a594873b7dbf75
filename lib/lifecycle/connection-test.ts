import * as crypto from 'crypto';
import { ArnFormat, CfnResource, CustomResource, Stack, TagManager, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, IDependable } from 'constructs';
import { CONNECTION_TEST_TYPE } from './kinds';
import { validateDmsArn } from '../core/identifiers';
import { EndpointType, IDmsEndpoint } from '../core/interfaces';
import { acknowledgeRules, nagFindingId } from '../core/nag';
import { openSourceDatabases } from '../core/open-database';
import { MigrationProvider } from '../provider/provider';
import type { IReplicationInstance } from '../replication/replication-instance';

/**
 * Properties of a `DmsConnectionTest`.
 */
export interface DmsConnectionTestProps {
  /**
   * The endpoint to test. Set this or `endpoints`. For an endpoint created elsewhere, import it
   * with `fromEndpointArn` of its endpoint class (e.g. `PostgresSourceEndpoint.fromEndpointArn`).
   *
   * @default - `endpoints` is used
   */
  readonly endpoint?: IDmsEndpoint;

  /**
   * The endpoints to test from the same replication instance, in one custom resource (e.g. the
   * source and the target of a task). Set this or `endpoint`.
   *
   * @default - `endpoint` is used
   */
  readonly endpoints?: IDmsEndpoint[];

  /**
   * The replication instance the connections are tested from. The test waits for its `egressReady`
   * (the network's NAT route, Secrets Manager access and Neon IP Allow entry), and the databases of
   * source endpoints that know their `databaseConnections` are opened to it.
   */
  readonly replicationInstance: IReplicationInstance;
}

/**
 * Tests the connection from a replication instance to one or more DMS endpoints at deploy time.
 *
 * Runs DMS `TestConnection` whenever an endpoint or the replication instance changes and waits
 * for the results: a failed test fails the deployment with DMS's message and a hint for known
 * causes (no network path to a source database, missing NAT route to Neon, SSL mode, Neon's
 * endpoint-in-password format, wrong credentials). Works for any endpoint, not only the ones this
 * library creates (import them with `fromEndpointArn`).
 *
 * Permissions: endpoints declared in the same stack are tagged `cdk-neon-migration:lifecycle` =
 * the stack id and tested under one statement of the shared handler role for all of them; other
 * endpoints (ARNs) are named in a policy of this test. The replication instance is named once per
 * stack and instance.
 *
 * @example
 * import { DmsConnectionTest, NeonTargetEndpoint, PostgresSourceEndpoint, ReplicationInstance } from 'cdk-neon-migration';
 *
 * declare const source: PostgresSourceEndpoint;
 * declare const neonTarget: NeonTargetEndpoint;
 * declare const instance: ReplicationInstance;
 *
 * new DmsConnectionTest(this, 'Test', {
 *   endpoints: [source, neonTarget],
 *   replicationInstance: instance,
 * });
 */
export class DmsConnectionTest extends Construct {
  /** ARN of the (first) tested endpoint. */
  public readonly endpointArn: string;
  /** ARNs of the tested endpoints. */
  public readonly endpointArns: string[];
  /** ARN of the replication instance the test runs from. */
  public readonly replicationInstanceArn: string;
  /** The custom resource running the test. */
  public readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: DmsConnectionTestProps) {
    super(scope, id);

    if (props.endpoint !== undefined && props.endpoints !== undefined) {
      throw new Error('DmsConnectionTest: endpoint and endpoints are alternatives: set one of them.');
    }
    if (props.endpoints !== undefined && props.endpoints.length === 0) {
      throw new Error('DmsConnectionTest: endpoints is empty: list at least one endpoint to test.');
    }
    const endpoints = props.endpoints ?? (props.endpoint ? [props.endpoint] : []);
    if (endpoints.length === 0) {
      throw new Error('DmsConnectionTest: set endpoint (an IDmsEndpoint; import one created elsewhere with fromEndpointArn) or endpoints (several).');
    }
    const endpointArns = endpoints.map(e => e.endpointArn);
    for (const arn of endpointArns) {
      validateDmsArn('DmsConnectionTest', arn, 'endpointArn', 'endpoint');
    }
    const instance = props.replicationInstance;
    validateDmsArn('DmsConnectionTest', instance.replicationInstanceArn, 'replicationInstance.replicationInstanceArn', 'rep');
    this.endpointArns = endpointArns;
    this.endpointArn = endpointArns[0];
    this.replicationInstanceArn = instance.replicationInstanceArn;

    const provider = MigrationProvider.of(this);
    const permissions = grantConnectionTests(this, endpoints, endpointArns, instance.replicationInstanceArn);

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: CONNECTION_TEST_TYPE,
      properties: {
        EndpointArns: endpointArns,
        ReplicationInstanceArn: instance.replicationInstanceArn,
        Sources: sourcesOf(endpoints),
      },
    });
    this.resource.node.addDependency(...permissions);
    for (const endpoint of endpoints) {
      if (!this.node.scopes.includes(endpoint)) {
        // Everything the endpoint is made of (credentials, access role) exists before the test runs.
        this.resource.node.addDependency(endpoint);
      }
    }
    if (instance.egressReady) {
      this.resource.node.addDependency(instance.egressReady);
    }
    openSourceDatabases(endpoints, instance, this.resource, this);
  }

  /** Run the test only after `dependables` exist (e.g. a route or a firewall rule made elsewhere). */
  public addDependency(...dependables: IDependable[]): void {
    this.resource.node.addDependency(...dependables);
  }
}

/**
 * The source endpoints among `endpoints`, for the handler's hints: a source that cannot be reached
 * is a matter of its database's security groups and network path, not of the NAT gateway.
 *
 * @internal
 */
export function sourcesOf(endpoints: IDmsEndpoint[]): Array<Record<string, unknown>> | undefined {
  const sources = endpoints.filter(e => e.endpointType === EndpointType.SOURCE).map(e => ({
    EndpointArn: e.endpointArn,
    Port: String(e.port),
    SecurityGroupIds: e.databaseConnections?.connections.securityGroups.map(g => g.securityGroupId) ?? [],
  }));
  return sources.length > 0 ? sources : undefined;
}

/**
 * Grants the stack's shared handler role `dms:TestConnection` on `endpoints` (or `endpointArns`)
 * and on `instanceArn`, and returns the policies the resource running the test must wait for.
 * Endpoints of this stack are tagged and covered by one tag-scoped statement for the whole stack;
 * only statements naming no resource of the stack go to the role's default policy (an endpoint may
 * itself depend on another resource of the shared provider, e.g. the Neon credentials, and the
 * handler functions depend on that policy); token ARNs get a policy of their own under `scope`.
 *
 * @internal
 */
export function grantConnectionTests(scope: Construct, endpoints: IDmsEndpoint[], endpointArns: string[], instanceArn: string): IDependable[] {
  const provider = MigrationProvider.of(scope);
  const stack = Stack.of(scope);
  provider.grantOnce('dms:DescribeConnections', () => [new iam.PolicyStatement({
    // DescribeConnections supports no resource-level permissions
    actions: ['dms:DescribeConnections'],
    resources: ['*'],
  })]);

  // Endpoints of this stack: tagged, and covered by one statement for the whole stack.
  const named: string[] = [];
  const tagged = new Set<string>();
  for (const endpoint of endpoints) {
    const cfn = endpoint.node.defaultChild;
    if (cfn instanceof CfnResource && cfn.cfnResourceType === 'AWS::DMS::Endpoint' && TagManager.isTaggable(cfn)
      && Stack.of(cfn) === stack && cfn.ref === endpoint.endpointArn) {
      provider.tag(cfn);
      tagged.add(endpoint.endpointArn);
    }
  }
  for (const arn of endpointArns) {
    if (!tagged.has(arn)) {
      named.push(arn);
    }
  }
  if (tagged.size > 0) {
    const stackEndpoints = stack.formatArn({ service: 'dms', resource: 'endpoint', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    provider.grantOnce('dms:TestConnection:tagged-endpoints', () => [new iam.PolicyStatement({
      actions: ['dms:TestConnection'],
      resources: [stackEndpoints],
      conditions: { StringEquals: { [`dms:endpoint-tag/${MigrationProvider.TAG_KEY}`]: provider.tagValue } },
    })], [{
      id: nagFindingId(provider, 'AwsSolutions-IAM5', 'Resource', stackEndpoints),
      reason: 'dms:TestConnection is limited by condition to the endpoints tagged with this stack\'s id, the endpoints the stack\'s connection tests name.',
    }]);
  }

  const dependencies: IDependable[] = [];
  // Literal ARNs can go into the shared default policy; tokens get a policy of their own.
  const literal = [...named, instanceArn].filter(arn => !Token.isUnresolved(arn));
  for (const arn of literal) {
    provider.grantOnce(`dms:TestConnection:${arn}`, () => [new iam.PolicyStatement({ actions: ['dms:TestConnection'], resources: [arn] })]);
  }
  if (Token.isUnresolved(instanceArn)) {
    dependencies.push(instancePolicy(provider, instanceArn));
  }
  const namedTokens = named.filter(arn => Token.isUnresolved(arn));
  if (namedTokens.length > 0) {
    const policy = new iam.Policy(scope, 'Permissions', {
      roles: [provider.role],
      statements: [new iam.PolicyStatement({ actions: ['dms:TestConnection'], resources: namedTokens })],
    });
    acknowledgeRules(policy, [{
      id: 'NIST.800.53.R5-IAMNoInlinePolicy',
      reason: 'The policy grants the shared handler role exactly this test\'s TestConnection calls and is removed with the test.',
    }]);
    dependencies.push(policy);
  }
  return dependencies;
}

function instancePolicy(provider: MigrationProvider, instanceArn: string): iam.Policy {
  let byArn = INSTANCE_POLICIES.get(provider);
  if (!byArn) {
    byArn = new Map();
    INSTANCE_POLICIES.set(provider, byArn);
  }
  const cached = byArn.get(instanceArn);
  if (cached) {
    return cached;
  }
  // Named after the resolved reference, so the id stays the same from one synth to the next.
  const resolved = JSON.stringify(Stack.of(provider).resolve(instanceArn));
  const id = `TestConnectionFrom${crypto.createHash('sha256').update(resolved).digest('hex').slice(0, 8).toUpperCase()}`;
  const policy = (provider.node.tryFindChild(id) as iam.Policy | undefined) ?? newInstancePolicy(provider, id, instanceArn);
  byArn.set(instanceArn, policy);
  return policy;
}

function newInstancePolicy(provider: MigrationProvider, id: string, instanceArn: string): iam.Policy {
  const policy = new iam.Policy(provider, id, {
    roles: [provider.role],
    statements: [new iam.PolicyStatement({ actions: ['dms:TestConnection'], resources: [instanceArn] })],
  });
  acknowledgeRules(policy, [{
    id: 'NIST.800.53.R5-IAMNoInlinePolicy',
    reason: 'The policy lets the shared handler role test connections from one replication instance; a policy of its own because the instance may depend on the provider.',
  }]);
  return policy;
}

const INSTANCE_POLICIES = new WeakMap<MigrationProvider, Map<string, iam.Policy>>();
