import * as crypto from 'crypto';
import { ArnFormat, CfnResource, CustomResource, Stack, TagManager, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, IDependable } from 'constructs';
import { ResourceTypes } from './kinds';
import { MigrationProvider } from './provider';
import { IDmsEndpoint } from '../core/interfaces';
import { acknowledgeRules, nagFindingId } from '../core/nag';

/**
 * Properties of a `DmsConnectionTest`.
 */
export interface DmsConnectionTestProps {
  /**
   * The endpoint to test. Set this, `endpoints` or `endpointArn`.
   *
   * @default - `endpoints` or `endpointArn` is used
   */
  readonly endpoint?: IDmsEndpoint;

  /**
   * The endpoints to test from the same replication instance, in one custom resource (e.g. the
   * source and the target of a task). Set this, `endpoint` or `endpointArn`.
   *
   * @default - `endpoint` or `endpointArn` is used
   */
  readonly endpoints?: IDmsEndpoint[];

  /**
   * ARN of the endpoint to test, for endpoints created outside this library. Set this,
   * `endpoint` or `endpoints`.
   *
   * @default - the ARN of `endpoint`
   */
  readonly endpointArn?: string;

  /** ARN of the replication instance the connection is tested from. */
  readonly replicationInstanceArn: string;

  /**
   * What must exist before the test runs, typically the route from the replication subnets to the
   * internet (`IReplicationNetwork.egressReady`) and the Neon IP Allow entry.
   *
   * @default - no dependencies beyond the endpoint and the replication instance ARNs
   */
  readonly dependsOn?: IDependable[];
}

/**
 * Tests the connection from a replication instance to one or more DMS endpoints at deploy time.
 *
 * Runs DMS `TestConnection` whenever an endpoint or the replication instance changes and waits
 * for the results: a failed test fails the deployment with DMS's message and a hint for known
 * causes (missing NAT route, SSL mode, Neon's endpoint-in-password format, wrong credentials).
 * Works for any endpoint, not only the ones this library creates.
 *
 * Permissions: endpoints declared in the same stack are tagged `cdk-neon-migration:lifecycle` =
 * the stack id and tested under one statement of the shared handler role for all of them; other
 * endpoints (ARNs) are named in a policy of this test. The replication instance is named once per
 * stack and instance.
 *
 * @example
 * const test = new DmsConnectionTest(this, 'Test', {
 *   endpoints: [source, neonTarget],
 *   replicationInstanceArn: instance.replicationInstanceArn,
 *   dependsOn: [network.egressReady],
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

    const given = (['endpoint', 'endpoints', 'endpointArn'] as const).filter(p => props[p] !== undefined);
    if (given.length > 1) {
      throw new Error(`DmsConnectionTest: ${given.join(' and ')} are alternatives: set one of them.`);
    }
    if (props.endpoints !== undefined && props.endpoints.length === 0) {
      throw new Error('DmsConnectionTest: endpoints is empty: list at least one endpoint to test.');
    }
    const endpoints = props.endpoints ?? (props.endpoint ? [props.endpoint] : []);
    const endpointArns = props.endpointArn !== undefined ? [props.endpointArn] : endpoints.map(e => e.endpointArn);
    if (endpointArns.length === 0) {
      throw new Error('DmsConnectionTest: set endpoint (an IDmsEndpoint), endpoints (several) or endpointArn (the ARN of any DMS endpoint).');
    }
    for (const arn of endpointArns) {
      validateDmsArn('DmsConnectionTest', arn, 'endpointArn', 'endpoint');
    }
    validateDmsArn('DmsConnectionTest', props.replicationInstanceArn, 'replicationInstanceArn', 'rep');
    this.endpointArns = endpointArns;
    this.endpointArn = endpointArns[0];
    this.replicationInstanceArn = props.replicationInstanceArn;

    const provider = MigrationProvider.of(this);
    const permissions = grantConnectionTests(this, endpoints, endpointArns, props.replicationInstanceArn);

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: ResourceTypes.CONNECTION_TEST,
      properties: {
        EndpointArns: endpointArns,
        ReplicationInstanceArn: props.replicationInstanceArn,
      },
    });
    this.resource.node.addDependency(...permissions);
    for (const endpoint of endpoints) {
      if (!this.node.scopes.includes(endpoint)) {
        // Everything the endpoint is made of (credentials, access role) exists before the test runs.
        this.resource.node.addDependency(endpoint);
      }
    }
    this.addDependency(...(props.dependsOn ?? []));
  }

  /** Run the test only after `dependables` exist (e.g. the NAT route or the IP Allow entry). */
  public addDependency(...dependables: IDependable[]): void {
    this.resource.node.addDependency(...dependables);
  }
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

/**
 * Checks that `arn` is the ARN of a DMS endpoint (`resourceType` 'endpoint') or replication
 * instance ('rep'); tokens pass.
 *
 * @internal
 */
export function validateDmsArn(owner: string, arn: string, property: string, resourceType: 'endpoint' | 'rep'): void {
  if (Token.isUnresolved(arn)) {
    return;
  }
  if (!new RegExp(`^arn:aws[a-z-]*:dms:[a-z0-9-]+:\\d{12}:${resourceType}:[A-Za-z0-9-]+$`).test(arn)) {
    throw new Error(`${owner}: ${property} '${arn}' is not a DMS ${resourceType === 'rep' ? 'replication instance' : 'endpoint'} ARN (arn:aws:dms:<region>:<account>:${resourceType}:<id>).`);
  }
}
