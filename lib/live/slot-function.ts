import { Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct, IConstruct } from 'constructs';
import { ReplicationSlotsFunction } from './replication-slots-function';
import { IReplicationNetwork } from '../core/interfaces';
import { vendedLogGroupNameFor } from '../core/log-groups';
import { acknowledgeRules, nagFindingId } from '../core/nag';
import { MigrationProvider } from '../provider/provider';
import { SecretGrants } from '../secrets/grant-read';

/**
 * The stack's slot function and its relay: a Lambda function in the replication subnets that speaks
 * to the source database, and an express state machine through which the shared provider's
 * handlers call it (`StartSyncExecution`). One per stack, placed in the network of the first cleanup.
 *
 * @internal
 */
export class SlotFunction extends Construct {
  /** Construct id under the stack; part of the public contract (changing it replaces the resources). */
  public static readonly ID = 'NeonDmsReplicationSlots';

  public static of(scope: IConstruct, network: IReplicationNetwork): SlotFunction {
    const stack = Stack.of(scope);
    return (stack.node.tryFindChild(SlotFunction.ID) as SlotFunction | undefined) ?? new SlotFunction(stack, SlotFunction.ID, network);
  }

  public readonly function: lambda.Function;
  public readonly role: iam.Role;
  public readonly relay: sfn.StateMachine;
  /** Lets the shared provider's functions run the relay; the cleanups wait for it. */
  public readonly startPermission: iam.Policy;
  private secretGrants?: SecretGrants;

  private constructor(scope: Construct, id: string, network: IReplicationNetwork) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_YEAR });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'cdk-neon-migration replication-slot cleanup (reads the source secret)',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole')],
    });
    logGroup.grantWrite(this.role);

    // the replication security group reaches the source; this one adds HTTPS to Secrets Manager
    const https = new ec2.SecurityGroup(this, 'HttpsEgress', {
      vpc: network.vpc,
      description: 'cdk-neon-migration replication-slot cleanup: HTTPS to Secrets Manager',
      allowAllOutbound: false,
    });
    https.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'Secrets Manager API');

    this.function = new ReplicationSlotsFunction(this, 'Handler', {
      role: this.role,
      logGroup,
      vpc: network.vpc,
      vpcSubnets: network.replicationSubnets,
      securityGroups: [network.securityGroup, https],
      memorySize: 256,
      architecture: lambda.Architecture.ARM_64,
      // an inspect waits up to 2 minutes for a starting task's slot; a synchronous express execution lasts at most 5
      timeout: Duration.minutes(3),
      description: 'cdk-neon-migration: finds and drops the replication slots DMS tasks leave on a PostgreSQL source',
    });
    this.function.node.addDependency(network.egressReady);

    const invoke = new tasks.LambdaInvoke(this, 'Invoke', {
      lambdaFunction: this.function,
      payloadResponseOnly: true,
      retryOnServiceExceptions: true,
    });
    // Step Functions adds the log group to the account's CloudWatch Logs resource policy (5,120 characters): vended-logs names keep it short
    const relayLogs = new logs.LogGroup(this, 'RelayLogs', { logGroupName: vendedLogGroupNameFor(this), retention: logs.RetentionDays.ONE_YEAR });
    this.relay = new sfn.StateMachine(this, 'Relay', {
      definitionBody: sfn.DefinitionBody.fromChainable(invoke),
      stateMachineType: sfn.StateMachineType.EXPRESS,
      timeout: Duration.minutes(4),
      // requests carry secret ARNs and slot names, never secret values: execution data stays out of the logs anyway
      logs: { destination: relayLogs, level: sfn.LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
      comment: 'cdk-neon-migration: runs the replication-slot function in the replication network for the shared provider',
    });

    const provider = MigrationProvider.of(this);
    // a policy of its own: the shared default policy comes before the handler functions
    this.startPermission = new iam.Policy(this, 'StartPermission', {
      roles: [provider.role],
      statements: [new iam.PolicyStatement({ actions: ['states:StartSyncExecution'], resources: [this.relay.stateMachineArn] })],
    });

    const functionArn = this.function.functionArn;
    acknowledgeRules(this.role, [
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        reason: 'A function attached to a VPC needs to create and delete its network interfaces; this AWS managed policy grants exactly that.',
      },
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The role reads this stack\'s source secrets and writes its own log group: an inline policy keeps them with the function.' },
    ]);
    acknowledgeRules(this.function, [
      { id: 'NIST.800.53.R5-LambdaConcurrency', reason: 'The function runs once per deployment step of a migration; reserved concurrency would only make deploys fail.' },
      { id: 'NIST.800.53.R5-LambdaDLQ', reason: 'Invoked synchronously through the relay: the caller receives every failure, nothing is retried asynchronously.' },
    ]);
    acknowledgeRules(this.relay, [
      {
        id: nagFindingId(this, 'AwsSolutions-IAM5', 'Resource', `${functionArn}:*`),
        reason: 'Step Functions invokes any version of the slot function (`<function arn>:*`), as aws-cdk-lib grants it.',
      },
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'X-Ray tracing and CloudWatch Logs delivery actions support no resource-level permissions.' },
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The state machine role only invokes the slot function and writes its traces and logs.' },
    ]);
    for (const group of [logGroup, relayLogs]) {
      acknowledgeRules(group, [
        { id: 'NIST.800.53.R5-CloudWatchLogGroupEncrypted', reason: 'The logs hold slot names, sizes and state transitions, never secret values; the AWS-managed encryption of CloudWatch Logs applies.' },
      ]);
    }
    acknowledgeRules(this.startPermission, [
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The policy lets the shared handler role run this stack\'s slot relay; a policy of its own because the relay comes after the handler functions.' },
    ]);
  }

  /** Let the slot function read `secret` (and decrypt it with its customer managed key), once per secret. */
  public grantSecret(secret: secretsmanager.ISecret): void {
    this.secretGrants ??= new SecretGrants(this, this.role);
    this.secretGrants.grant(secret);
  }
}
