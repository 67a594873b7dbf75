import { Aspects, CfnWaitCondition, CfnWaitConditionHandle, CustomResource, Duration, IAspect, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct, IConstruct } from 'constructs';
import { CONDITION_MARGIN, WAIT_CONDITION_LIMIT, resolvedHash } from './options';
import { MigrationProvider } from './provider';
import { vendedLogGroupNameFor } from '../core/log-groups';
import { acknowledgeRules, nagFindingId } from '../core/nag';

/** How often the load waiter asks how the load goes. */
const POLL_INTERVAL = Duration.minutes(1);

/**
 * The stack's load waiter: a Step Functions state machine that asks the shared provider's isComplete
 * function every minute how a wait goes (`LoadWaitPoll` events: a lifecycle's full load, a schema
 * step's wait for the load and its build), until that function signalled the resource's wait
 * condition. Each answer goes to `$.Answer` of the state, which the next poll receives with it.
 * Created with the first resource that waits longer than a custom resource may.
 *
 * @internal
 */
export class LoadWaiter extends Construct {
  /** Construct id under the stack; part of the public contract (changing it replaces the resources). */
  public static readonly ID = 'NeonDmsLoadWaiter';

  public static of(scope: IConstruct): LoadWaiter {
    const stack = Stack.of(scope);
    return (stack.node.tryFindChild(LoadWaiter.ID) as LoadWaiter | undefined) ?? new LoadWaiter(stack, LoadWaiter.ID);
  }

  public readonly stateMachine: sfn.StateMachine;
  /** Lets the shared provider's functions start executions; the lifecycles wait for it. */
  public readonly startPermission: iam.Policy;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    const provider = MigrationProvider.of(this);

    const wait = new sfn.Wait(this, 'Wait', { time: sfn.WaitTime.duration(POLL_INTERVAL) });
    const poll = new tasks.LambdaInvoke(this, 'Poll', {
      lambdaFunction: provider.isCompleteFunction,
      payloadResponseOnly: true,
      resultPath: '$.Answer',
      retryOnServiceExceptions: true,
    });
    const signalled = new sfn.Choice(this, 'Signalled')
      .when(sfn.Condition.booleanEquals('$.Answer.Done', true), new sfn.Succeed(this, 'Done'))
      .otherwise(wait);
    wait.next(poll).next(signalled);

    // Step Functions adds the log group to the account's CloudWatch Logs resource policy (5,120 characters): vended-logs names keep it short
    const logGroup = new logs.LogGroup(this, 'Logs', { logGroupName: vendedLogGroupNameFor(this), retention: logs.RetentionDays.ONE_YEAR });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(wait),
      timeout: WAIT_CONDITION_LIMIT.plus(CONDITION_MARGIN),
      // the input holds the wait condition's presigned URL: execution data stays out of the logs
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
      comment: 'cdk-neon-migration: follows waits longer than a custom resource may take (full loads, schema steps after them) and signals their wait conditions',
    });

    // a policy of its own: the shared default policy comes before the handler functions, which the state machine invokes
    this.startPermission = new iam.Policy(this, 'StartPermission', {
      roles: [provider.role],
      statements: [new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [this.stateMachine.stateMachineArn] })],
    });

    const isCompleteArn = (provider.isCompleteFunction as lambda.Function).functionArn;
    acknowledgeRules(this.stateMachine, [
      {
        id: nagFindingId(this, 'AwsSolutions-IAM5', 'Resource', `${isCompleteArn}:*`),
        reason: 'Step Functions invokes any version of the shared isComplete function (`<function arn>:*`), as aws-cdk-lib grants it.',
      },
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'X-Ray tracing and CloudWatch Logs delivery actions support no resource-level permissions.' },
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The state machine role only invokes the shared isComplete function and writes its traces and logs.' },
    ]);
    acknowledgeRules(logGroup, [
      { id: 'NIST.800.53.R5-CloudWatchLogGroupEncrypted', reason: 'The waiter logs state transitions without execution data; the AWS-managed encryption of CloudWatch Logs applies.' },
    ]);
    acknowledgeRules(this.startPermission, [
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The policy lets the shared handler role start this stack\'s load waiter; a policy of its own because the waiter invokes the handler functions.' },
    ]);
  }
}

/** Properties of a `LoadCompletion`. */
export interface LoadCompletionProps {
  /**
   * How long the resource's wait may last, in seconds (a lifecycle's `maxWait`): the wait condition
   * gives up `CONDITION_MARGIN` later by itself (its poller signals at the latest then).
   */
  readonly maxWaitSeconds: number;
  /**
   * What the wait is for (the task's or replication's properties): a change of it makes a new wait
   * condition, because CloudFormation waits on a wait condition only when it creates it.
   */
  readonly identity: () => Record<string, unknown>;
}

/**
 * An `AWS::CloudFormation::WaitCondition` (and its handle) that completes when a wait handed to the
 * load waiter ended (a lifecycle's full load, a schema step), for waits longer than a custom
 * resource may take (up to 12 hours).
 *
 * CloudFormation waits on a wait condition only when it creates one (its properties cannot be
 * updated): the logical ids end with a hash of what the wait is for, so a deployment that changes
 * the task creates a new wait condition and waits again.
 *
 * @internal
 */
export class LoadCompletion extends Construct {
  public readonly handle: CfnWaitConditionHandle;
  public readonly condition: CfnWaitCondition;
  /** What the lifecycle resource carries: the handle to signal and the waiter to start. */
  public readonly properties: Record<string, string>;
  private readonly waiter: LoadWaiter;

  constructor(scope: Construct, id: string, props: LoadCompletionProps) {
    super(scope, id);
    this.waiter = LoadWaiter.of(this);
    this.handle = new CfnWaitConditionHandle(this, 'Handle');
    this.condition = new CfnWaitCondition(this, 'Resource', {
      handle: this.handle.ref,
      count: 1,
      timeout: String(Duration.seconds(props.maxWaitSeconds).plus(CONDITION_MARGIN).toSeconds()),
    });
    this.properties = { LoadWaitHandle: this.handle.ref, LoadWaitStateMachineArn: this.waiter.stateMachine.stateMachineArn };
    Aspects.of(this).add(new NameAfterIdentity(this, props.identity));
  }

  /** Waits for what `resource` hands over: the condition comes after it, it after the permission to start the waiter. */
  public waitFor(resource: CustomResource): CfnWaitCondition {
    this.condition.node.addDependency(resource);
    resource.node.addDependency(this.waiter.startPermission);
    return this.condition;
  }
}

/** Suffixes the logical ids of the handle and the condition with a hash of the wait's identity, once everything was added to the app. */
class NameAfterIdentity implements IAspect {
  private done = false;

  constructor(private readonly completion: LoadCompletion, private readonly identity: () => Record<string, unknown>) {}

  public visit(node: IConstruct): void {
    if (node !== this.completion || this.done) {
      return;
    }
    this.done = true;
    const stack = Stack.of(node);
    const suffix = resolvedHash(node, this.identity()).slice(0, 8).toUpperCase();
    for (const element of [this.completion.handle, this.completion.condition]) {
      element.overrideLogicalId(`${stack.getLogicalId(element)}${suffix}`);
    }
  }
}
