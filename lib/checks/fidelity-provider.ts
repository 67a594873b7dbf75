import { Aws, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, IConstruct } from 'constructs';
import { FidelitySourceEngine } from './fidelity-check';
import { IReplicationNetwork } from '../core/interfaces';
import { acknowledgeRules } from '../core/nag';
import { FidelityFunction } from '../fidelity/fidelity-function';
import { FidelityMysqlFunction } from '../fidelity/fidelity-mysql-function';
import { SecretGrants } from '../secrets/grant-read';

/** Namespace of the `MismatchedRows` and `RowsCompared` metrics of `MigrationVerification`. */
export const FIDELITY_METRICS_NAMESPACE = 'CdkNeonMigration';

/**
 * The custom-resource provider of `MigrationPreflight` and `MigrationVerification`, one per stack:
 * a function attached to the VPC (it connects to the source database and, through the NAT egress,
 * to Neon) and its Provider framework. The VPC, subnets and security group of the first construct
 * that asks for it are used.
 *
 * @internal
 */
export class FidelityProvider extends Construct {
  /** Construct id under the stack; part of the public contract (changing it replaces the provider). */
  public static readonly ID = 'NeonDmsFidelityProvider';
  /** Construct id of the provider of MySQL sources' checks (its function bundles the MySQL driver). */
  public static readonly MYSQL_ID = 'NeonDmsFidelityProviderMySql';

  /** The provider of `scope`'s stack for `engine`'s sources, created in `network` on first use. */
  public static of(scope: IConstruct, network: IReplicationNetwork, engine = FidelitySourceEngine.POSTGRESQL): FidelityProvider {
    const stack = Stack.of(scope);
    const id = engine === FidelitySourceEngine.MYSQL ? FidelityProvider.MYSQL_ID : FidelityProvider.ID;
    const existing = stack.node.tryFindChild(id) as FidelityProvider | undefined;
    return existing ?? new FidelityProvider(stack, id, network, engine);
  }

  public readonly function: lambda.Function;
  public readonly role: iam.Role;
  public readonly serviceToken: string;
  public readonly logGroup: logs.LogGroup;
  private secretGrants?: SecretGrants;
  private latencyMetricsGranted = false;

  private constructor(scope: Construct, id: string, network: IReplicationNetwork, engine: FidelitySourceEngine) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_YEAR });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'cdk-neon-migration data preflight and verification',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole')],
    });
    this.logGroup.grantWrite(this.role);
    // the dispatcher tells an update from its rollback by the stack's status (DescribeStacks on this stack only)
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['cloudformation:DescribeStacks', 'cloudformation:DescribeStackResource'],
      resources: [Aws.STACK_ID],
    }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': FIDELITY_METRICS_NAMESPACE } },
    }));

    // the replication security group reaches the source and Neon; this one adds HTTPS to the AWS APIs
    const https = new ec2.SecurityGroup(this, 'HttpsEgress', {
      vpc: network.vpc,
      description: 'cdk-neon-migration fidelity checks: HTTPS to Secrets Manager and CloudWatch',
      allowAllOutbound: false,
    });
    https.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'Secrets Manager and CloudWatch APIs');

    const Handler = engine === FidelitySourceEngine.MYSQL ? FidelityMysqlFunction : FidelityFunction;
    this.function = new Handler(this, 'Handler', {
      role: this.role,
      logGroup: this.logGroup,
      vpc: network.vpc,
      vpcSubnets: network.replicationSubnets,
      securityGroups: [network.securityGroup, https],
      memorySize: 512,
      architecture: lambda.Architecture.ARM_64,
      // Lambda's limit: a verification that needs longer fails the deployment (use the CLI instead)
      timeout: Duration.minutes(15),
      description: engine === FidelitySourceEngine.MYSQL
        ? 'cdk-neon-migration: checks and compares the data of a MySQL source and Neon (preflight, verify)'
        : 'cdk-neon-migration: checks and compares the data of source and Neon (preflight, verify)',
    });
    // egress from the subnets (NAT route) must exist before the function tries to reach Neon
    this.function.node.addDependency(network.egressReady);

    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.function,
      logGroup: this.logGroup,
    });
    this.serviceToken = provider.serviceToken;

    acknowledgeRules(provider, [
      { id: 'AwsSolutions-L1', reason: 'The Provider framework pins the runtime of its own functions; the handler it calls uses the latest Node.js.' },
    ]);
    const stack = Stack.of(this);
    const functionVersionFindings = this.node.findAll()
      .filter((c): c is lambda.CfnFunction => c instanceof lambda.CfnFunction)
      .map((fn) => ({
        id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn)}.Arn>:*]`,
        reason: 'The Provider framework invokes any version of its own handler function (`<function arn>:*`).',
      }));
    acknowledgeRules(this, [
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'The Provider framework function uses AWSLambdaBasicExecutionRole (log writing only), as aws-cdk-lib builds it.',
      },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        reason: 'A function attached to a VPC needs to create and delete its network interfaces; this AWS managed policy grants exactly that.',
      },
      ...functionVersionFindings,
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'cloudwatch:PutMetricData has no resource-level permissions (it is limited to the CdkNeonMigration namespace by condition), '
          + 'nor has cloudwatch:GetMetricData, which a verification during CDC uses to read its task\'s latency.',
      },
      { id: 'NIST.800.53.R5-LambdaConcurrency', reason: 'Deploy-time handlers run once per resource change; reserved concurrency would only make deploys fail.' },
      { id: 'NIST.800.53.R5-LambdaDLQ', reason: 'Synchronous custom-resource handlers: CloudFormation receives every failure, nothing is retried asynchronously.' },
      { id: 'NIST.800.53.R5-LambdaInsideVPC', reason: 'The Provider framework function only relays the request to the handler; the handler itself runs in the VPC.' },
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'Permissions name this stack\'s secrets and log group, which only exist in this stack: an inline policy keeps them together.' },
      { id: 'NIST.800.53.R5-CloudWatchLogGroupEncrypted', reason: 'The handler logs hold table names, counts and finding codes, never secret values or row data; the AWS-managed encryption of CloudWatch Logs applies.' },
    ]);
  }

  /** Let the handler read the CDC latency metrics of tasks (for a verification during CDC), once. */
  public grantLatencyMetrics(): void {
    if (this.latencyMetricsGranted) return;
    this.latencyMetricsGranted = true;
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }));
  }

  /** Let the handler read `secret` (and decrypt it with its customer managed key), once per secret. */
  public grantSecret(secret: secretsmanager.ISecret): void {
    this.secretGrants ??= new SecretGrants(this, this.role);
    this.secretGrants.grant(secret);
  }
}
