import { CustomResource, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, IDependable } from 'constructs';
import { ResourceTypes } from './kinds';
import { MigrationProvider } from './provider';
import { IDmsEndpoint } from '../core/interfaces';
import { acknowledgeRules } from '../core/nag';

/**
 * Properties of a `DmsConnectionTest`.
 */
export interface DmsConnectionTestProps {
  /**
   * The endpoint to test. Set this or `endpointArn`.
   *
   * @default - `endpointArn` is used
   */
  readonly endpoint?: IDmsEndpoint;

  /**
   * ARN of the endpoint to test, for endpoints created outside this library. Set this or `endpoint`.
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
 * Tests the connection from a replication instance to a DMS endpoint at deploy time.
 *
 * Runs DMS `TestConnection` whenever the endpoint or the replication instance changes and waits
 * for the result: a failed test fails the deployment with DMS's message and a hint for known
 * causes (missing NAT route, SSL mode, Neon's endpoint-in-password format, wrong credentials).
 * Works for any endpoint, not only the ones this library creates.
 *
 * @example
 * const test = new DmsConnectionTest(this, 'TargetTest', {
 *   endpoint: neonTarget,
 *   replicationInstanceArn: instance.ref,
 *   dependsOn: [network.egressReady],
 * });
 */
export class DmsConnectionTest extends Construct {
  /** ARN of the tested endpoint. */
  public readonly endpointArn: string;
  /** ARN of the replication instance the test runs from. */
  public readonly replicationInstanceArn: string;
  /** The custom resource running the test. */
  public readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: DmsConnectionTestProps) {
    super(scope, id);

    if (props.endpoint && props.endpointArn !== undefined) {
      throw new Error('DmsConnectionTest: endpoint and endpointArn are alternatives: set one of them.');
    }
    const endpointArn = props.endpoint?.endpointArn ?? props.endpointArn;
    if (endpointArn === undefined) {
      throw new Error('DmsConnectionTest: set endpoint (an IDmsEndpoint) or endpointArn (the ARN of any DMS endpoint).');
    }
    validateArn(endpointArn, 'endpointArn', 'endpoint');
    validateArn(props.replicationInstanceArn, 'replicationInstanceArn', 'rep');
    this.endpointArn = endpointArn;
    this.replicationInstanceArn = props.replicationInstanceArn;

    const provider = MigrationProvider.of(this);
    // A policy of its own rather than the provider role's default policy: the endpoint may itself
    // depend on another resource of the shared provider (e.g. the Neon credentials), and the
    // default policy referencing its ARN would close a dependency cycle.
    const policy = new iam.Policy(this, 'Permissions', {
      roles: [provider.role],
      statements: [
        new iam.PolicyStatement({
          actions: ['dms:TestConnection'],
          resources: [endpointArn, props.replicationInstanceArn],
        }),
        new iam.PolicyStatement({
          // DescribeConnections supports no resource-level permissions
          actions: ['dms:DescribeConnections'],
          resources: ['*'],
        }),
      ],
    });

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: ResourceTypes.CONNECTION_TEST,
      properties: {
        EndpointArn: endpointArn,
        ReplicationInstanceArn: props.replicationInstanceArn,
      },
    });
    this.resource.node.addDependency(policy);
    if (props.endpoint && !this.node.scopes.includes(props.endpoint)) {
      // Everything the endpoint is made of (credentials, access role) exists before the test runs.
      this.resource.node.addDependency(props.endpoint);
    }
    this.addDependency(...(props.dependsOn ?? []));

    acknowledgeRules(policy, [
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'dms:DescribeConnections supports no resource-level permissions; TestConnection is scoped to the endpoint and replication instance ARNs.' },
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The policy grants the shared handler role exactly this test\'s DMS calls and is removed with the test.' },
    ]);
  }

  /** Run the test only after `dependables` exist (e.g. the NAT route or the IP Allow entry). */
  public addDependency(...dependables: IDependable[]): void {
    this.resource.node.addDependency(...dependables);
  }
}

function validateArn(arn: string, property: string, resourceType: string): void {
  if (Token.isUnresolved(arn)) {
    return;
  }
  if (!new RegExp(`^arn:aws[a-z-]*:dms:[a-z0-9-]+:\\d{12}:${resourceType}:[A-Za-z0-9-]+$`).test(arn)) {
    throw new Error(`DmsConnectionTest: ${property} '${arn}' is not a DMS ${resourceType === 'rep' ? 'replication instance' : 'endpoint'} ARN (arn:aws:dms:<region>:<account>:${resourceType}:<id>).`);
  }
}
