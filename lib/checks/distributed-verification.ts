import {
  Annotations, Arn, ArnFormat, Aspects, CfnWaitCondition, CfnWaitConditionHandle, CustomResource, Duration, IAspect, Names,
  RemovalPolicy, Stack, Token,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct, IConstruct, IDependable } from 'constructs';
import { FIDELITY_METRICS_NAMESPACE } from './fidelity-provider';
import { IReplicationNetwork } from '../core/interfaces';
import { createRotatingKey } from '../core/kms';
import { allowLogsToUseKey, vendedLogGroupNameFor } from '../core/log-groups';
import { acknowledgeRules, nagFindingId } from '../core/nag';
import { VerificationWorkerFunction } from '../fidelity/distributed/verification-worker-function';
import { DISTRIBUTED_VERIFICATION_TYPE } from '../fidelity/kinds';
import { CONDITION_MARGIN, WAIT_CONDITION_LIMIT, resolvedHash } from '../provider/options';
import { MigrationProvider } from '../provider/provider';

/**
 * How `MigrationVerification` runs when the comparison does not fit in one Lambda invocation: cut
 * into units (tables, and key ranges of large tables) that a Step Functions state machine hands to
 * workers, each continuing where the last stopped when its time budget is spent.
 */
export interface DistributedVerificationOptions {
  /**
   * Workers comparing at the same time (1–64). Each holds one session on the source and one on
   * Neon for as long as it runs, and reads as fast as the source serves one scan: choose what the
   * source can give besides the migration (and tell the preflight, `targetCapacity.verificationSessions`).
   *
   * @default 4
   */
  readonly maxConcurrency?: number;

  /**
   * How long one worker invocation keeps starting chunks (1–12 minutes): when it is spent, the
   * worker returns a cursor and the unit continues in the next invocation. The function's timeout
   * is Lambda's 15 minutes; the rest is for the last chunk started.
   *
   * @default Duration.minutes(10)
   */
  readonly workerTimeBudget?: Duration;

  /**
   * Whether the deployment waits for the result (through an `AWS::CloudFormation::WaitCondition`,
   * at most 12 hours) and fails when a table differs (see `failOnDifference`). Without waiting, the
   * deployment completes once the verification started; the result arrives as the metrics
   * `MismatchedTables` and `VerificationFailed`, their alarms and `notificationTopic`.
   *
   * @default true
   */
  readonly wait?: boolean;

  /**
   * How long the verification may run. With `wait`, at most 11 hours 45 minutes (the wait
   * condition gives up 15 minutes later, within CloudFormation's 12 hours).
   *
   * @default - 11 hours 45 minutes with `wait`, 7 days without
   */
  readonly timeout?: Duration;

  /**
   * A table with more rows (by its statistics) is cut into units of about this many rows.
   *
   * @default 20000000
   */
  readonly unitRows?: number;

  /**
   * Rows compared between two looks at the time budget (a unit's chunks).
   *
   * @default 1000000
   */
  readonly chunkRows?: number;

  /**
   * Units run by an inline Map at most (its iterations run 40 at a time and count towards the
   * execution's 25,000 history events); more run as child executions of a Distributed Map that
   * reads the unit list from S3.
   *
   * @default 40
   */
  readonly inlineMaxUnits?: number;

  /**
   * Where the alarms on `MismatchedTables` and `VerificationFailed` notify.
   *
   * @default - the alarms notify nobody
   */
  readonly notificationTopic?: sns.ITopic;
}

/** Properties of a `DistributedVerification`. */
export interface DistributedVerificationProps extends DistributedVerificationOptions {
  readonly network: IReplicationNetwork;
  readonly sourceSecret: secretsmanager.ISecret;
  readonly targetSecret: secretsmanager.ISecret;
  /** The run's settings as the workers read them (`RunConfig` without bucket, prefix and handle). */
  readonly runProperties: Record<string, unknown>;
  readonly taskIdentifier: string;
  /** The workers read the replication latency metrics (a verification during CDC). */
  readonly readsLatencyMetrics: boolean;
  readonly runAfter?: IDependable[];
}

const MAX_CONCURRENCY = 64;
/** Workers at the same time by default (`maxConcurrency`). */
export const DEFAULT_DISTRIBUTED_CONCURRENCY = 4;
const LAMBDA_TIMEOUT = Duration.minutes(15);
const WAIT_LIMIT = WAIT_CONDITION_LIMIT.minus(CONDITION_MARGIN);
/**
 * The Distributed Map's label, in its Map Run's and child executions' names. Without an `s`: the
 * peer minimum's check of labels (aws-cdk-lib 2.129.0) refuses every label holding one.
 */
const MAP_RUN_LABEL = 'Unit';

/** Lambda errors worth trying again at once (as aws-cdk-lib's `retryOnServiceExceptions`). */
const LAMBDA_TRANSIENT_ERRORS = ['Lambda.ClientExecutionTimeoutException', 'Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'];

/** Where the Distributed Map writes its child executions' outputs (its Map Runs' results). */
const MAP_RESULTS_PREFIX = 'runs/map-results';

/**
 * A Distributed Map whose `ResultWriter` (the child executions' outputs go to S3 instead of the
 * state's output, at most 256 KiB) is written in the definition itself, the same for every
 * aws-cdk-lib of the peer range: the peer minimum offers only `ResultWriter`, which newer releases
 * deprecate for `ResultWriterV2`, which the peer minimum lacks. The construct grants what the
 * writer needs (`MapRunPermissions`).
 */
class DistributedMapWithResults extends sfn.DistributedMap {
  constructor(scope: Construct, id: string, props: sfn.DistributedMapProps, private readonly results: { readonly bucket: s3.IBucket; readonly prefix: string }) {
    super(scope, id, props);
  }

  public toStateJson(...args: unknown[]): object {
    const json = (super.toStateJson as (...a: unknown[]) => Record<string, unknown>).apply(this, args);
    const stack = Stack.of(this);
    return {
      ...json,
      ResultWriter: {
        Resource: `arn:${stack.partition}:states:::s3:putObject`,
        Parameters: { Bucket: this.results.bucket.bucketName, Prefix: this.results.prefix },
      },
    };
  }
}

/** Checks the options at synth time; returns the values in force. */
export function checkDistributedOptions(owner: string, options: DistributedVerificationOptions) {
  const concurrency = options.maxConcurrency ?? DEFAULT_DISTRIBUTED_CONCURRENCY;
  if (!Token.isUnresolved(concurrency) && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY)) {
    throw new Error(`${owner}: distributed.maxConcurrency is ${concurrency}; use an integer from 1 to ${MAX_CONCURRENCY}. Each worker holds a session `
      + 'on the source and on Neon and scans as fast as the source serves it: more workers than the source has cores to spare slow the migration down.');
  }
  const budget = options.workerTimeBudget ?? Duration.minutes(10);
  const budgetSeconds = budget.toSeconds();
  if (!budget.isUnresolved() && (budgetSeconds < 60 || budgetSeconds > 720)) {
    throw new Error(`${owner}: distributed.workerTimeBudget is ${budget.toHumanString()}; use from 1 to 12 minutes: a worker is a Lambda invocation `
      + '(at most 15 minutes), and the chunk it started last must finish within it.');
  }
  const wait = options.wait ?? true;
  const timeout = options.timeout ?? (wait ? WAIT_LIMIT : Duration.days(7));
  if (!timeout.isUnresolved()) {
    const seconds = timeout.toSeconds();
    if (wait && seconds > WAIT_LIMIT.toSeconds()) {
      throw new Error(`${owner}: distributed.timeout is ${timeout.toHumanString()}, but CloudFormation waits at most 12 hours for a wait condition `
        + `(43,200 s; the verification is given ${WAIT_LIMIT.toHumanString()} of them). Set distributed.wait: false to let the deployment `
        + 'complete while the verification runs on: its result then arrives as the MismatchedTables and VerificationFailed metrics, '
        + 'their alarms and distributed.notificationTopic.');
    }
    if (seconds < 300 || seconds > Duration.days(365).toSeconds()) {
      throw new Error(`${owner}: distributed.timeout is ${timeout.toHumanString()}; use from 5 minutes to 365 days (a Step Functions standard execution's limit is one year).`);
    }
  }
  for (const [name, value] of [['unitRows', options.unitRows], ['chunkRows', options.chunkRows]] as const) {
    if (value !== undefined && !Token.isUnresolved(value) && (!Number.isInteger(value) || value < 1000)) {
      throw new Error(`${owner}: distributed.${name} is ${value}; use an integer of at least 1000.`);
    }
  }
  if (options.unitRows !== undefined && options.chunkRows !== undefined && options.chunkRows > options.unitRows) {
    throw new Error(`${owner}: distributed.chunkRows (${options.chunkRows}) is larger than distributed.unitRows (${options.unitRows}); a unit is made of chunks.`);
  }
  const inline = options.inlineMaxUnits ?? 40;
  if (!Token.isUnresolved(inline) && (!Number.isInteger(inline) || inline < 0 || inline > 40)) {
    throw new Error(`${owner}: distributed.inlineMaxUnits is ${inline}; use from 0 (always a Distributed Map) to 40 (an inline Map runs at most 40 iterations at a time).`);
  }
  return { concurrency, budgetSeconds, wait, timeout, inline };
}

/**
 * The distributed mode of `MigrationVerification`: a worker function in the replication network, a
 * bucket for the unit list and the units' results, the state machine that plans, fans out,
 * retries, resumes and reports, the custom resource that starts it, and — when the deployment
 * waits — the wait condition its report signals.
 *
 * @internal
 */
export class DistributedVerification extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly workerFunction: lambda.Function;
  public readonly bucket: s3.Bucket;
  /** The custom resource starting the verification. */
  public readonly starter: CustomResource;
  /** With `wait`: the wait condition the report signals. */
  public readonly condition?: CfnWaitCondition;
  public readonly mismatchedTablesAlarm: cloudwatch.Alarm;
  public readonly failedAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DistributedVerificationProps) {
    super(scope, id);
    const checked = checkDistributedOptions('MigrationVerification', props);

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: true,
      lifecycleRules: [{
        expiration: Duration.days(30), noncurrentVersionExpiration: Duration.days(1), abortIncompleteMultipartUploadAfter: Duration.days(1),
      }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // the worker: in the replication network, as the single-function verification
    const logKey = createRotatingKey(this, 'LogKey', { description: `Encrypts the logs of the distributed verification ${this.node.path}` });
    const workerLogs = this.encryptedLogGroup('WorkerLogs', logKey, `/cdk-neon-migration/verification/${Names.uniqueResourceName(this, { maxLength: 200, separator: '-' })}`);
    const role = new iam.Role(this, 'WorkerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'cdk-neon-migration distributed verification workers',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole')],
    });
    workerLogs.grantWrite(role);
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': FIDELITY_METRICS_NAMESPACE } },
    }));
    if (props.readsLatencyMetrics) role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: [this.bucket.arnForObjects('runs/*')] }));
    props.sourceSecret.grantRead(role);
    props.targetSecret.grantRead(role);

    const https = new ec2.SecurityGroup(this, 'HttpsEgress', {
      vpc: props.network.vpc,
      description: 'cdk-neon-migration distributed verification: HTTPS to Secrets Manager, S3, CloudWatch and the wait condition',
      allowAllOutbound: false,
    });
    https.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'Secrets Manager, S3 and CloudWatch APIs; the wait condition\'s presigned URL');
    this.workerFunction = new VerificationWorkerFunction(this, 'Worker', {
      role,
      logGroup: workerLogs,
      vpc: props.network.vpc,
      vpcSubnets: props.network.replicationSubnets,
      securityGroups: [props.network.securityGroup, https],
      memorySize: 512,
      architecture: lambda.Architecture.ARM_64,
      timeout: LAMBDA_TIMEOUT,
      description: 'cdk-neon-migration: plans, compares and reports a distributed verification of source and Neon',
    });
    this.workerFunction.node.addDependency(props.network.egressReady);

    this.stateMachine = this.buildStateMachine(checked.concurrency, checked.timeout, logKey);
    const mapRun = this.grantMapRun(this.stateMachine);

    // the starter: a custom resource of the stack's shared provider
    const provider = MigrationProvider.of(this);
    const startPermission = new iam.Policy(this, 'StartPermission', {
      roles: [provider.role],
      statements: [new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [this.stateMachine.stateMachineArn] })],
    });
    let handle: CfnWaitConditionHandle | undefined;
    if (checked.wait) handle = new CfnWaitConditionHandle(this, 'WaitHandle');
    const run = {
      ...props.runProperties,
      Bucket: this.bucket.bucketName,
      BudgetSeconds: String(checked.budgetSeconds),
      UnitRows: props.unitRows !== undefined ? String(props.unitRows) : undefined,
      ChunkRows: props.chunkRows !== undefined ? String(props.chunkRows) : undefined,
      InlineMaxUnits: String(checked.inline),
      WaitHandle: handle?.ref,
    };
    this.starter = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: DISTRIBUTED_VERIFICATION_TYPE,
      properties: { StateMachineArn: this.stateMachine.stateMachineArn, Run: run },
    });
    // the execution may reach the Distributed Map only once the state machine role may start and watch its children
    this.starter.node.addDependency(startPermission, mapRun, this.stateMachine);
    if (props.runAfter && props.runAfter.length > 0) this.starter.node.addDependency(...props.runAfter);

    if (handle) {
      this.condition = new CfnWaitCondition(this, 'Wait', {
        handle: handle.ref,
        count: 1,
        timeout: String(checked.timeout.plus(CONDITION_MARGIN).toSeconds()),
      });
      this.condition.node.addDependency(this.starter);
      // CloudFormation waits on a wait condition only when it creates one: a changed verification gets a new one
      Aspects.of(this).add(new NameAfterRun(this, [handle, this.condition], () => ({ run: props.runProperties, budget: checked.budgetSeconds })));
    }

    // the result without waiting: metrics, alarms, notifications
    const metric = (metricName: string) => new cloudwatch.Metric({
      namespace: FIDELITY_METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { TaskIdentifier: props.taskIdentifier },
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.minutes(5),
    });
    this.mismatchedTablesAlarm = new cloudwatch.Alarm(this, 'MismatchedTablesAlarm', {
      metric: metric('MismatchedTables'),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `Tables of ${props.taskIdentifier} differ between the source and Neon (distributed verification)`,
    });
    this.failedAlarm = new cloudwatch.Alarm(this, 'FailedAlarm', {
      metric: metric('VerificationFailed'),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `The distributed verification of ${props.taskIdentifier} failed before it could compare every table`,
    });
    if (props.notificationTopic) {
      for (const alarm of [this.mismatchedTablesAlarm, this.failedAlarm]) {
        alarm.addAlarmAction(new cloudwatchActions.SnsAction(props.notificationTopic));
        alarm.addOkAction(new cloudwatchActions.SnsAction(props.notificationTopic));
      }
    } else {
      for (const alarm of [this.mismatchedTablesAlarm, this.failedAlarm]) {
        acknowledgeRules(alarm, [{
          id: 'NIST.800.53.R5-CloudWatchAlarmAction',
          reason: 'No distributed.notificationTopic was given: the alarm shows the verification\'s outcome in the console and to whoever adds an action.',
        }]);
      }
      if (!checked.wait) {
        Annotations.of(this).addWarningV2('cdk-neon-migration:verificationNotWatched',
          'distributed.wait is false and no distributed.notificationTopic is set: the deployment does not fail on differences, and the alarms notify nobody.');
      }
    }

    this.acknowledge(role, startPermission, mapRun);
  }

  /**
   * What a Distributed Map needs of its state machine's role, whatever aws-cdk-lib grants (AWS's
   * "IAM policies for using Distributed Map states"): start the state machine itself (each child
   * execution), describe and stop its executions, redrive the Map Run's child executions, and write
   * the children's results under the result writer's prefix. The peer minimum, aws-cdk-lib
   * 2.129.0, grants the describe and stop on `<state machine ARN>:*`, which names no execution, and
   * no redrive; the result writer is the construct's own (`DistributedMapWithResults`).
   */
  private grantMapRun(machine: sfn.StateMachine): iam.Policy {
    const name = Arn.split(machine.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName!;
    const executions = (suffix: string) => Stack.of(this).formatArn({
      service: 'states', resource: 'execution', resourceName: `${name}${suffix}`, arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    return new iam.Policy(this, 'MapRunPermissions', {
      roles: [machine.role],
      statements: [
        new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [machine.stateMachineArn] }),
        new iam.PolicyStatement({ actions: ['states:DescribeExecution', 'states:StopExecution'], resources: [executions(':*')] }),
        new iam.PolicyStatement({ actions: ['states:RedriveExecution'], resources: [executions(`/${MAP_RUN_LABEL}:*`)] }),
        new iam.PolicyStatement({
          actions: ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
          resources: [this.bucket.arnForObjects(`${MAP_RESULTS_PREFIX}/*`)],
        }),
      ],
    });
  }

  /** A log group encrypted with `key`, which CloudWatch Logs may use for that log group only. */
  private encryptedLogGroup(id: string, key: ReturnType<typeof createRotatingKey>, logGroupName: string): logs.LogGroup {
    allowLogsToUseKey(this, key, logGroupName);
    const group = new logs.LogGroup(this, id, {
      logGroupName, retention: logs.RetentionDays.ONE_YEAR, encryptionKey: key, removalPolicy: RemovalPolicy.RETAIN,
    });
    // the key's policy must exist before CloudWatch Logs uses it
    group.node.addDependency(key);
    return group;
  }

  private buildStateMachine(concurrency: number, timeout: Duration, logKey: ReturnType<typeof createRotatingKey>): sfn.StateMachine {
    const invoke = (id: string, payload: Record<string, unknown>, resultPath: string) => new tasks.LambdaInvoke(this, id, {
      lambdaFunction: this.workerFunction,
      payload: sfn.TaskInput.fromObject(payload),
      payloadResponseOnly: true,
      resultPath,
      retryOnServiceExceptions: false,
    });

    const unitLoop = (prefix: string) => {
      const compare = invoke(`${prefix}Compare`, {
        'Action': 'compare',
        'Run.$': '$.Run',
        'Unit.$': '$.Unit',
        'Progress.$': '$.Progress',
      }, '$.Progress');
      compare.addRetry({ errors: LAMBDA_TRANSIENT_ERRORS, interval: Duration.seconds(2), maxAttempts: 6, backoffRate: 2 });
      // a worker that failed (its database session broke, its invocation timed out) is tried again from the same cursor
      compare.addRetry({ errors: [sfn.Errors.ALL], interval: Duration.seconds(30), maxAttempts: 3, backoffRate: 2 });
      const done = new sfn.Succeed(this, `${prefix}UnitDone`, { outputPath: '$.Progress' });
      const more = new sfn.Choice(this, `${prefix}UnitFinished`)
        .when(sfn.Condition.booleanEquals('$.Progress.done', true), done)
        .otherwise(compare);
      return compare.next(more);
    };
    const itemSelector = {
      'Run.$': '$.Run',
      'Unit.$': '$$.Map.Item.Value',
      'Progress': { cursor: 0, done: false, invocations: 0 },
    };

    const inline = new sfn.Map(this, 'CompareInline', {
      itemsPath: '$.Plan.Units',
      itemSelector,
      maxConcurrency: Math.min(concurrency, 40),
      resultPath: sfn.JsonPath.DISCARD,
    });
    inline.itemProcessor(unitLoop('Inline'));

    const distributed = new DistributedMapWithResults(this, 'CompareDistributed', {
      itemReader: new sfn.S3JsonItemReader({ bucket: this.bucket, key: sfn.JsonPath.stringAt('$.Plan.ItemsKey') }),
      itemSelector,
      maxConcurrency: concurrency,
      mapExecutionType: sfn.StateMachineType.STANDARD,
      resultPath: sfn.JsonPath.DISCARD,
      label: MAP_RUN_LABEL,
    }, { bucket: this.bucket, prefix: MAP_RESULTS_PREFIX });
    distributed.itemProcessor(unitLoop('Distributed'));

    const plan = invoke('Plan', { 'Action': 'plan', 'Run.$': '$.Run' }, '$.Plan');
    plan.addRetry({ errors: LAMBDA_TRANSIENT_ERRORS, interval: Duration.seconds(2), maxAttempts: 6, backoffRate: 2 });
    const report = invoke('Report', { 'Action': 'report', 'Run.$': '$.Run', 'Plan.$': '$.Plan' }, '$.Report');
    report.addRetry({ errors: LAMBDA_TRANSIENT_ERRORS, interval: Duration.seconds(2), maxAttempts: 6, backoffRate: 2 });
    const failed = invoke('SignalFailure', { 'Action': 'fail', 'Run.$': '$.Run', 'Failure.$': '$.Failure' }, '$.Signalled');
    failed.addRetry({ errors: [sfn.Errors.ALL], interval: Duration.seconds(5), maxAttempts: 3, backoffRate: 2 });
    failed.next(new sfn.Fail(this, 'VerificationFailed', { error: 'VerificationFailed', cause: 'The verification could not compare every table: see the execution\'s events.' }));
    for (const state of [plan, inline, distributed, report]) state.addCatch(failed, { resultPath: '$.Failure' });

    const outcome = new sfn.Choice(this, 'Outcome')
      .when(sfn.Condition.booleanEquals('$.Report.Ok', true), new sfn.Succeed(this, 'Verified'))
      .otherwise(new sfn.Fail(this, 'Differences', { error: 'Differences', cause: 'Tables differ between the source and Neon: see the Report of the execution output, or the MismatchedRows metrics.' }));
    inline.next(report);
    distributed.next(report);
    report.next(outcome);
    const mode = new sfn.Choice(this, 'Mode')
      .when(sfn.Condition.stringEquals('$.Plan.Mode', 'inline'), inline)
      .otherwise(distributed);
    const definition = plan.next(mode);

    // Step Functions adds the log group to the account's CloudWatch Logs resource policy (5,120 characters): vended-logs names keep it short
    const logGroup = this.encryptedLogGroup('StateMachineLogs', logKey, vendedLogGroupNameFor(this));
    const machine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout,
      // the input names secrets (ARNs) and the wait condition's presigned URL: execution data stays out of the logs
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
      comment: 'cdk-neon-migration: distributed verification — plan units, compare them in parallel with resumable workers, report',
    });
    return machine;
  }

  private acknowledge(role: iam.Role, startPermission: iam.Policy, mapRun: iam.Policy): void {
    const workerArn = this.workerFunction.functionArn;
    const machineName = Arn.split(this.stateMachine.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName;
    const executions = (suffix: string) => Stack.of(this).formatArn({
      service: 'states', resource: 'execution', resourceName: `${machineName}${suffix}`, arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    acknowledgeRules(this.bucket, [
      { id: 'AwsSolutions-S1', reason: 'The bucket holds the verification\'s unit lists and results, written by its own workers and state machine only; CloudTrail records the writes, an access-log bucket would hold nothing more.' },
      { id: 'NIST.800.53.R5-S3BucketLoggingEnabled', reason: 'The bucket holds the verification\'s unit lists and results, written by its own workers and state machine only; CloudTrail records the writes.' },
      { id: 'NIST.800.53.R5-S3BucketReplicationEnabled', reason: 'Unit lists and results are produced again by running the verification again; a replica adds cost and no protection.' },
      { id: 'NIST.800.53.R5-S3DefaultEncryptionKMS', reason: 'The objects hold table names, row counts and at most maxDifferences key values per table; S3-managed encryption applies and objects expire after 30 days.' },
    ]);
    acknowledgeRules(role, [
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        reason: 'A function attached to a VPC needs to create and delete its network interfaces; this AWS managed policy grants exactly that.',
      },
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'cloudwatch:PutMetricData has no resource-level permissions (limited to the CdkNeonMigration namespace by condition), nor has cloudwatch:GetMetricData (the replication latency during CDC).' },
      { id: nagFindingId(this, 'AwsSolutions-IAM5', 'Resource', `${this.bucket.bucketArn}/runs/*`), reason: 'Each run writes its unit list and one result per unit under runs/<execution>/: the objects are named at run time.' },
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The permissions name this construct\'s bucket, secrets and log group, which exist only in this stack: an inline policy keeps them together.' },
    ]);
    acknowledgeRules(this.workerFunction, [
      { id: 'NIST.800.53.R5-LambdaConcurrency', reason: 'The state machine bounds the workers running at once (maxConcurrency); a reserved concurrency would take capacity from the account for a function that runs once per deployment.' },
      { id: 'NIST.800.53.R5-LambdaDLQ', reason: 'The state machine invokes the workers synchronously, retries them and catches their failures; nothing is invoked asynchronously.' },
    ]);
    acknowledgeRules(this.stateMachine, [
      { id: nagFindingId(this, 'AwsSolutions-IAM5', 'Resource', `${workerArn}:*`), reason: 'Step Functions invokes any version of the worker function (`<function arn>:*`), as aws-cdk-lib grants it.' },
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'X-Ray tracing and CloudWatch Logs delivery actions support no resource-level permissions.' },
      { id: nagFindingId(this, 'AwsSolutions-IAM5', 'Resource', executions(':*')), reason: 'The Distributed Map describes and stops its child executions, which Step Functions names at run time (aws-cdk-lib\'s grant).' },
      { id: nagFindingId(this, 'AwsSolutions-IAM5', 'Resource', executions(`/${MAP_RUN_LABEL}:*`)), reason: 'The Distributed Map redrives its map runs, which Step Functions names at run time (aws-cdk-lib\'s grant).' },
      { id: nagFindingId(this, 'AwsSolutions-IAM5', 'Resource', `arn:<AWS::Partition>:s3:::${this.bucket.bucketName}/*`), reason: 'aws-cdk-lib\'s Distributed Map item reader grants s3:GetObject on the bucket\'s objects; only this construct\'s bucket.' },
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The state machine role invokes this construct\'s worker, starts its own child executions and writes its traces and logs.' },
    ]);
    acknowledgeRules(mapRun, [
      { id: nagFindingId(this, 'AwsSolutions-IAM5', 'Resource', executions(':*')), reason: 'The Distributed Map describes and stops the state machine\'s executions, which Step Functions names at run time.' },
      { id: nagFindingId(this, 'AwsSolutions-IAM5', 'Resource', executions(`/${MAP_RUN_LABEL}:*`)), reason: 'A redriven execution redrives its Map Run\'s child executions, which Step Functions names at run time.' },
      { id: nagFindingId(this, 'AwsSolutions-IAM5', 'Resource', `${this.bucket.bucketArn}/${MAP_RESULTS_PREFIX}/*`), reason: 'The result writer writes each Map Run\'s results under its prefix, in objects Step Functions names at run time.' },
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The policy lets the state machine start, watch and redrive its own child executions and write their results; a policy of its own because it names the state machine, which depends on its role.' },
    ]);
    acknowledgeRules(startPermission, [
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The policy lets the shared handler role start this verification\'s state machine; a policy of its own so the state machine exists before the permission.' },
    ]);
  }
}

/** Suffixes the logical ids of the wait condition and its handle with a hash of the run, once everything was added to the app. */
class NameAfterRun implements IAspect {
  private done = false;

  constructor(
    private readonly owner: IConstruct,
    private readonly elements: readonly (CfnWaitCondition | CfnWaitConditionHandle)[],
    private readonly identity: () => Record<string, unknown>,
  ) {}

  public visit(node: IConstruct): void {
    if (node !== this.owner || this.done) return;
    this.done = true;
    const stack = Stack.of(node);
    const suffix = resolvedHash(node, this.identity()).slice(0, 8).toUpperCase();
    for (const element of this.elements) element.overrideLogicalId(`${stack.getLogicalId(element)}${suffix}`);
  }
}
