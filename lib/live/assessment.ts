import { ArnFormat, CustomResource, Duration, Lazy, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, IConstruct } from 'constructs';
import { PREMIGRATION_ASSESSMENT_TYPE } from './kinds';
import { acknowledgeRules, nagFindingId } from '../core/nag';
import { updatableTaskProperties } from '../lifecycle/task-lifecycle';
import { resolvedHash } from '../provider/options';
import { MigrationProvider } from '../provider/provider';

/** The longest the deployment waits for a run: a custom resource answers within an hour. */
const MAX_WAIT_MINUTES = 55;
const DEFAULT_MAX_WAIT = Duration.minutes(50);
const DEFAULT_RETENTION = Duration.days(90);

/**
 * Where a stack's premigration assessment results are kept (one bucket and one role per stack,
 * shared by every assessment of the stack: the first assessment decides them).
 */
export interface PremigrationAssessmentResultsOptions {
  /**
   * Customer managed key the results are encrypted with (`SSE_KMS`); DMS's role may use it to write
   * them.
   *
   * @default - S3-managed keys (`SSE_S3`)
   */
  readonly resultsEncryptionKey?: kms.IKey;

  /**
   * How long results are kept before S3 deletes them (their older versions too).
   *
   * @default Duration.days(90)
   */
  readonly resultsRetention?: Duration;

  /**
   * What happens to the results bucket when it leaves the stack. `RemovalPolicy.DESTROY` empties and
   * deletes it (an aws-cdk-lib custom resource deletes the objects).
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly resultsRemovalPolicy?: RemovalPolicy;
}

/**
 * A DMS premigration assessment run before a replication task first starts.
 */
export interface PremigrationAssessmentOptions extends PremigrationAssessmentResultsOptions {
  /**
   * Individual assessments whose `failed`, `error` or (with `failOnWarning`) `warning` result does
   * not fail the deployment, by their API name, e.g. `postgres-check-dbowner`.
   *
   * @default - every individual assessment that does not pass fails the deployment
   */
  readonly acknowledgedAssessments?: string[];

  /**
   * Run only these individual assessments (API names). Not together with `exclude`.
   *
   * @default - every individual assessment DMS finds applicable to the task
   */
  readonly includeOnly?: string[];

  /**
   * Leave these individual assessments out (API names). Not together with `includeOnly`.
   *
   * @default - none left out
   */
  readonly exclude?: string[];

  /**
   * Fail the deployment on `warning` results too (unless acknowledged).
   *
   * @default false
   */
  readonly failOnWarning?: boolean;

  /**
   * How long the deployment waits for the run before it cancels it and fails: 5 to 55 minutes (a
   * custom resource must answer within an hour).
   *
   * @default Duration.minutes(50)
   */
  readonly maxWait?: Duration;
}

/**
 * Properties of a `PremigrationAssessment`.
 */
export interface PremigrationAssessmentProps extends PremigrationAssessmentOptions {
  /**
   * The task to assess. Its `replicationTaskIdentifier` must be set (the results folder is named
   * after it).
   */
  readonly replicationTask: dms.CfnReplicationTask;
}

/**
 * The results store of a stack's premigration assessments: an S3 bucket (encrypted, public access
 * blocked, TLS only, versioned, objects expiring after `resultsRetention`) and the role DMS assumes
 * to write into it, with the permissions DMS documents (object put, get, delete and tagging; bucket
 * listing and location).
 */
export class PremigrationAssessmentResults extends Construct {
  /** Construct id under the stack. */
  public static readonly ID = 'NeonDmsPremigrationAssessments';

  /** The stack's results store, created on first use with `options`. */
  public static of(scope: IConstruct, options: PremigrationAssessmentResultsOptions = {}): PremigrationAssessmentResults {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(PremigrationAssessmentResults.ID) as PremigrationAssessmentResults | undefined;
    if (!existing) {
      return new PremigrationAssessmentResults(stack, PremigrationAssessmentResults.ID, options);
    }
    existing.checkSameOptions(options);
    return existing;
  }

  /** The bucket DMS writes the results to. */
  public readonly bucket: s3.Bucket;
  /** The role DMS assumes to write them (`ServiceAccessRoleArn`). */
  public readonly role: iam.Role;
  /** The key the results are encrypted with; undefined for S3-managed keys. */
  public readonly encryptionKey?: kms.IKey;
  /** The shared provider's permission to pass `role` to DMS. */
  public readonly passRolePolicy: iam.Policy;

  private readonly options: PremigrationAssessmentResultsOptions;

  private constructor(scope: Construct, id: string, options: PremigrationAssessmentResultsOptions) {
    super(scope, id);
    this.options = options;
    const retention = options.resultsRetention ?? DEFAULT_RETENTION;
    if (!retention.isUnresolved() && retention.toDays({ integral: false }) < 1) {
      throw new Error(`PremigrationAssessment: resultsRetention is ${retention.toHumanString()}; keep the results at least one day (Duration.days(1)).`);
    }
    const removalPolicy = options.resultsRemovalPolicy ?? RemovalPolicy.RETAIN;
    this.encryptionKey = options.resultsEncryptionKey;

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: this.encryptionKey ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
      encryptionKey: this.encryptionKey,
      bucketKeyEnabled: this.encryptionKey ? true : undefined,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: true,
      lifecycleRules: [{
        expiration: retention,
        noncurrentVersionExpiration: retention,
        abortIncompleteMultipartUploadAfter: Duration.days(1),
      }],
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
    });

    const stack = Stack.of(this);
    const statements = [
      new iam.PolicyStatement({
        actions: ['s3:PutObject', 's3:DeleteObject', 's3:GetObject', 's3:PutObjectTagging'],
        resources: [this.bucket.arnForObjects('*')],
      }),
      new iam.PolicyStatement({ actions: ['s3:ListBucket', 's3:GetBucketLocation'], resources: [this.bucket.bucketArn] }),
    ];
    if (this.encryptionKey) {
      // SSE-KMS: writing an object needs a data key, reading it (and multipart uploads) a decrypt
      statements.push(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [this.encryptionKey.keyArn] }));
    }
    this.role = new iam.Role(this, 'Role', {
      // DMS documents dms.amazonaws.com for this role; only for this account's DMS
      assumedBy: new iam.ServicePrincipal('dms.amazonaws.com').withConditions({
        StringEqualsIfExists: { 'aws:SourceAccount': stack.account },
      }),
      description: 'Lets DMS write premigration assessment results of this stack\'s replication tasks',
      inlinePolicies: { WriteResults: new iam.PolicyDocument({ statements }) },
    });

    const provider = MigrationProvider.of(this);
    this.passRolePolicy = new iam.Policy(this, 'PassRole', {
      roles: [provider.role],
      statements: [
        new iam.PolicyStatement({ actions: ['iam:GetRole'], resources: [this.role.roleArn] }),
        new iam.PolicyStatement({
          actions: ['iam:PassRole'],
          resources: [this.role.roleArn],
          // the service names AWS's own DMS policies admit: the global principal and the regional ones (dms.<region>.amazonaws.com)
          conditions: { StringLike: { 'iam:PassedToService': ['dms.amazonaws.com', 'dms.*.amazonaws.com'] } },
        }),
      ],
    });

    acknowledgeRules(this.bucket, [
      { id: 'AwsSolutions-S1', reason: 'The bucket holds DMS premigration assessment reports that DMS writes with the role of this construct only; CloudTrail records the writes, a second bucket for access logs would hold nothing more.' },
      { id: 'NIST.800.53.R5-S3BucketLoggingEnabled', reason: 'The bucket holds DMS premigration assessment reports that DMS writes with the role of this construct only; CloudTrail records the writes, a second bucket for access logs would hold nothing more.' },
      { id: 'NIST.800.53.R5-S3BucketReplicationEnabled', reason: 'Assessment reports can be produced again by running the assessment again; a replica adds cost and no protection.' },
      ...(this.encryptionKey ? [] : [{
        id: 'NIST.800.53.R5-S3DefaultEncryptionKMS',
        reason: 'The reports hold schema metadata (table and column names and types), no row data; S3-managed encryption applies. Pass resultsEncryptionKey for a customer managed key.',
      }]),
    ]);
    acknowledgeRules(this.role, [
      {
        id: nagFindingId(this, 'AwsSolutions-IAM5', 'Resource', `${this.bucket.bucketArn}/*`),
        reason: 'DMS writes each task\'s reports under the task\'s folder of this bucket, named after the run at run time; the role reaches this bucket\'s objects only.',
      },
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The role\'s only policy writes to this construct\'s bucket; it lives and dies with the bucket.' },
    ]);
    acknowledgeRules(this.passRolePolicy, [
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The policy passes this construct\'s role to DMS only; it lives and dies with the role.' },
    ]);
  }

  /** A later assessment of the stack must not ask for another store than the first one made. */
  private checkSameOptions(options: PremigrationAssessmentResultsOptions): void {
    const differs: string[] = [];
    if (options.resultsEncryptionKey !== undefined && options.resultsEncryptionKey !== this.options.resultsEncryptionKey) {
      differs.push('resultsEncryptionKey');
    }
    const seconds = (d: Duration | undefined) => (d === undefined ? undefined : d.toSeconds());
    if (options.resultsRetention !== undefined && seconds(options.resultsRetention) !== seconds(this.options.resultsRetention ?? DEFAULT_RETENTION)) {
      differs.push('resultsRetention');
    }
    if (options.resultsRemovalPolicy !== undefined && options.resultsRemovalPolicy !== (this.options.resultsRemovalPolicy ?? RemovalPolicy.RETAIN)) {
      differs.push('resultsRemovalPolicy');
    }
    if (differs.length > 0) {
      throw new Error(`PremigrationAssessment: the premigration assessments of a stack share one results bucket, made by the first of them; ${differs.join(', ')} `
        + 'differ from what it was made with. Give every assessment of the stack the same values, or set them on the first one only.');
    }
  }
}

/**
 * Runs a DMS premigration assessment of a replication task at deploy time, after the task exists
 * and before it first starts, and fails the deployment when an individual assessment fails (or
 * errs), naming them, the counts of each outcome and the S3 folder holding their reports.
 *
 * A custom resource of the stack's shared provider starts the run
 * (`StartReplicationTaskAssessmentRun`, with the results bucket and the role DMS assumes to write
 * there) and polls it (`DescribeReplicationTaskAssessmentRuns`,
 * `DescribeReplicationTaskIndividualAssessments`) until it completes, at most `maxWait`. It runs
 * again when the task's properties change (the task is stopped before CloudFormation modifies it,
 * so DMS can assess it), not otherwise; a change of `acknowledgedAssessments` or `failOnWarning`
 * judges the last run again. Accept a finding by listing its assessment in
 * `acknowledgedAssessments`.
 *
 * `DmsMigrationTask` creates one with `premigrationAssessment` (on a replication instance) and makes
 * the task start wait for it.
 *
 * @example
 * import * as dms from 'aws-cdk-lib/aws-dms';
 * import { PremigrationAssessment } from 'cdk-neon-migration';
 *
 * declare const task: dms.CfnReplicationTask;
 *
 * new PremigrationAssessment(this, 'Assessment', {
 *   replicationTask: task,
 *   acknowledgedAssessments: ['postgres-check-dbowner'],
 * });
 */
export class PremigrationAssessment extends Construct {
  /** The custom resource that runs and judges the assessment. */
  public readonly resource: CustomResource;
  /** The stack's results store. */
  public readonly results: PremigrationAssessmentResults;

  constructor(scope: Construct, id: string, props: PremigrationAssessmentProps) {
    super(scope, id);
    const task = props.replicationTask;
    const identifier = task.replicationTaskIdentifier;
    if (identifier === undefined) {
      throw new Error('PremigrationAssessment: replicationTask.replicationTaskIdentifier must be set: the results folder and the run are named after it.');
    }
    if (props.includeOnly !== undefined && props.exclude !== undefined) {
      throw new Error('PremigrationAssessment: includeOnly and exclude are alternatives (DMS takes one of them): list the assessments to run, or the ones to leave out.');
    }
    for (const [name, list] of [['includeOnly', props.includeOnly], ['exclude', props.exclude], ['acknowledgedAssessments', props.acknowledgedAssessments]] as const) {
      checkNames(name, list);
    }
    if (props.includeOnly !== undefined && props.includeOnly.length === 0) {
      throw new Error('PremigrationAssessment: includeOnly is empty, which would run nothing: list assessments, or leave includeOnly out to run every applicable one.');
    }
    const maxWait = props.maxWait ?? DEFAULT_MAX_WAIT;
    if (!maxWait.isUnresolved() && (maxWait.toMinutes({ integral: false }) < 5 || maxWait.toMinutes({ integral: false }) > MAX_WAIT_MINUTES)) {
      throw new Error(`PremigrationAssessment: maxWait is ${maxWait.toHumanString()}; use 5 to ${MAX_WAIT_MINUTES} minutes: the deployment waits for the run `
        + 'in a custom resource, which must answer within an hour. Run fewer assessments (includeOnly/exclude) if they take longer.');
    }

    this.results = PremigrationAssessmentResults.of(this, props);
    const provider = MigrationProvider.of(this);
    provider.tag(task);
    grantAssessments(provider);

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: PREMIGRATION_ASSESSMENT_TYPE,
      properties: {
        TaskArn: task.ref,
        TaskIdentifier: Lazy.string({ produce: () => String(Stack.of(task).resolve(identifier)).toLowerCase() }),
        TaskPropertiesHash: Lazy.string({ produce: () => assessedPropertiesHash(task) }),
        ServiceAccessRoleArn: this.results.role.roleArn,
        ResultLocationBucket: this.results.bucket.bucketName,
        ResultKmsKeyArn: this.results.encryptionKey?.keyArn,
        IncludeOnly: props.includeOnly,
        Exclude: props.exclude,
        AcknowledgedAssessments: props.acknowledgedAssessments,
        FailOnWarning: String(props.failOnWarning ?? false),
        MaxWaitSeconds: Token.isUnresolved(maxWait.toSeconds()) ? Token.asString(maxWait.toSeconds()) : String(maxWait.toSeconds()),
      },
    });
    // the role may write (its inline policy), the bucket admits TLS only (its policy), the provider may pass the role
    this.resource.node.addDependency(this.results.role, this.results.bucket, this.results.passRolePolicy);
  }

  /** The run's status: `passed`, `warning` or `failed` (with every failure acknowledged). */
  public get status(): string {
    return this.resource.getAttString('Status');
  }

  /** Counts by outcome, e.g. `14 passed, 0 failed, 0 error, 1 warning, 0 cancelled, 0 skipped`. */
  public get summary(): string {
    return this.resource.getAttString('Summary');
  }

  /** The S3 folder of the task's reports, `s3://<bucket>/<task identifier>/`. */
  public get resultLocation(): string {
    return this.resource.getAttString('ResultLocation');
  }
}

function checkNames(property: string, names: string[] | undefined): void {
  for (const name of names ?? []) {
    if (Token.isUnresolved(name)) continue;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
      throw new Error(`PremigrationAssessment: ${property} holds '${name}', which is not an assessment's API name (e.g. postgres-check-dbowner): `
        + 'use the names of DescribeApplicableIndividualAssessments or the DMS User Guide\'s individual assessments.');
    }
  }
}

/**
 * What the handler needs on every assessed task of the stack, once per stack: the tasks carry the
 * provider's tag; DMS names the runs at run time; the describe calls are read-only.
 */
function grantAssessments(provider: MigrationProvider): void {
  const stack = Stack.of(provider);
  const tasks = stack.formatArn({ service: 'dms', resource: 'task', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  const runs = stack.formatArn({ service: 'dms', resource: 'assessment-run', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  provider.grantOnce('dms:premigration-assessment', () => [
    new iam.PolicyStatement({
      actions: ['dms:StartReplicationTaskAssessmentRun'],
      resources: [tasks],
      conditions: { StringEquals: { [`dms:task-tag/${MigrationProvider.TAG_KEY}`]: provider.tagValue } },
    }),
    new iam.PolicyStatement({ actions: ['dms:CancelReplicationTaskAssessmentRun'], resources: [runs] }),
    new iam.PolicyStatement({
      // read-only; DMS authorizes them with filters rather than a resource
      actions: [
        'dms:DescribeReplicationTaskAssessmentRuns',
        'dms:DescribeReplicationTaskIndividualAssessments',
        'dms:DescribeApplicableIndividualAssessments',
        'dms:DescribeReplicationTasks',
      ],
      resources: ['*'],
    }),
  ], [
    {
      id: nagFindingId(provider, 'AwsSolutions-IAM5', 'Resource', tasks),
      reason: 'Starting premigration assessments is limited by condition to the tasks tagged with this stack\'s id.',
    },
    {
      id: nagFindingId(provider, 'AwsSolutions-IAM5', 'Resource', runs),
      reason: 'DMS names an assessment run when it starts it; the handler cancels only the runs it started (on delete, or when maxWait passed).',
    },
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Read-only calls: the DMS assessment and task describe calls filter by task or run, and cloudwatch:PutMetricData and dms:DescribeConnections support no resource-level permissions.',
    },
  ]);
}

/**
 * SHA-256 of what makes DMS's assessment of the task differ: its updatable properties, its
 * endpoints, instance and migration type.
 */
function assessedPropertiesHash(task: dms.CfnReplicationTask): string {
  return resolvedHash(task, {
    MigrationType: task.migrationType,
    SourceEndpointArn: task.sourceEndpointArn,
    TargetEndpointArn: task.targetEndpointArn,
    ReplicationInstanceArn: task.replicationInstanceArn,
    ...updatableTaskProperties(task),
  });
}
