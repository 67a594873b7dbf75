import * as path from 'path';
import { ArnFormat, CustomResource, Duration, Size, Stack, Token } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, DependencyGroup, IDependable } from 'constructs';
import { SCHEMA_COPY_TYPE } from './kinds';
import { IReplicationNetwork } from '../core/interfaces';
import { createRotatingKey } from '../core/kms';
import { allowLogsToUseKey, logGroupNameFor, logStreamsArn } from '../core/log-groups';
import { acknowledgeRules, nagFindingId } from '../core/nag';
import { refuseEndpointInPassword } from '../neon/credential-forms';
import { LoadCompletion } from '../provider/load-wait';
import { CONDITION_MARGIN, WAIT_CONDITION_LIMIT } from '../provider/options';
import { MigrationProvider } from '../provider/provider';
import { completeSecretArn } from '../secrets/complete-arn';
import { grantSecretRead } from '../secrets/grant-read';
import type { TableMappings } from '../task/table-mappings';

/**
 * The container image the schema steps run in: the official PostgreSQL image from Amazon ECR Public
 * (Docker's library mirrored by AWS: no Docker Hub pull limits), pinned to a patch release. Its
 * client tools (`pg_dump`, `psql`) must be of a major version at least that of both servers.
 */
export const DEFAULT_SCHEMA_TOOLS_IMAGE = 'public.ecr.aws/docker/library/postgres:17.6-bookworm';

/** How long a build may wait in CodeBuild's queue (the project's `queuedTimeoutInMinutes`; CodeBuild's default is 8 hours). */
export const SCHEMA_BUILD_QUEUE = Duration.minutes(10);
/**
 * The longest build of the pre-data step, which its custom resource waits for itself: with the
 * queue's 10 minutes, within the hour CloudFormation gives a custom resource.
 */
export const PRE_DATA_BUILD_LIMIT = Duration.minutes(45);
/** What the steps after the load keep for resuming a task stopped after its load. */
const RESUME_ALLOWANCE = Duration.minutes(10);
/**
 * The longest build of a step after the load the deployment waits for: the wait condition's 12 hours,
 * less its margin, the queue and the resume, leaves 25 minutes at least of waiting for the load.
 */
export const AFTER_LOAD_BUILD_LIMIT = Duration.hours(11);
/** CodeBuild's longest build timeout (5 to 2160 minutes). */
const CODEBUILD_TIMEOUT_LIMIT = Duration.hours(36);
/** The default build timeout of a step. */
const DEFAULT_TIMEOUT = Duration.hours(2);

/**
 * Where and how the schema of a PostgreSQL source is copied into Neon around a DMS task.
 */
export interface SchemaCopyOptions {
  /**
   * The network the schema tools run in: its replication subnets and security group (which reach
   * the source database, Neon through the NAT gateway and Secrets Manager through its endpoint).
   *
   * @default - the migration task's `network`
   */
  readonly network?: IReplicationNetwork;

  /**
   * Container image with the PostgreSQL client tools, of a major version at least that of the
   * source and of Neon.
   *
   * @default DEFAULT_SCHEMA_TOOLS_IMAGE (postgres 17.6 from Amazon ECR Public)
   */
  readonly image?: string;

  /**
   * How long the build of one step may take (CodeBuild's build timeout), from 5 minutes to 11 hours.
   *
   * The steps after the full load (post-data: indexes, constraints; sequences) take hours on large
   * tables: the deployment waits for them through an `AWS::CloudFormation::WaitCondition`, which
   * CloudFormation waits on for at most 12 hours — this timeout, the 10 minutes a build may queue,
   * the resume of a task stopped after its load and a margin, the rest for the load itself. A longer
   * build is refused at synth: set `deployAfterLoadSteps: false` and run it by hand instead. The
   * pre-data step, before the load, runs within its custom resource's hour: its build gets at most
   * 45 minutes of this. See docs/step-order.md.
   *
   * @default Duration.hours(2)
   */
  readonly timeout?: Duration;

  /**
   * Whether the deployment runs the steps after the full load (`post` and `sequences`; with
   * `changeDataCapture`, `indexes` and the task's resume, and `cutover`), waiting for the load and
   * for them through wait conditions, up to 12 hours each. `false` leaves them out of the deployment
   * (for index builds longer than `timeout` may be): run them by hand once the load ended
   * (`cdk-neon-migration schema post`, or `schema indexes`), and with `changeDataCapture` resume the
   * task stopped after its load yourself (`aws dms start-replication-task --start-replication-task-type
   * resume-processing`).
   *
   * @default true
   */
  readonly deployAfterLoadSteps?: boolean;

  /**
   * Changing it runs the steps again on the next deployment. The steps run when the migration is
   * created; a changed selection is not copied by itself, because the pre-data step refuses tables
   * that exist in Neon already: drop them (or copy the new tables by hand with
   * `cdk-neon-migration schema pre`) before changing this.
   *
   * @default - the steps run once, when the migration is created
   */
  readonly refresh?: string;

  /**
   * The cut-over of a `FULL_LOAD_AND_CDC` migration: set it once the application writes to the source
   * no more and DMS applied the last changes, then deploy. The stack creates what would get in the
   * way of DMS's change apply, left out until now — foreign keys, triggers, rules, row-level security
   * policies, `GENERATED ALWAYS` on identity columns, refreshed materialized views — and sets every
   * sequence from the source.
   *
   * With `FULL_LOAD` the step after the full load creates all of it; this property is refused.
   *
   * @default false
   */
  readonly cutover?: boolean;

  /**
   * Sessions that build the indexes and constraints after the load at the same time (1–16):
   * above 1, the post-data steps restore with `pg_restore --jobs` instead of one transaction, and
   * are re-runnable: an interrupted step keeps what it built, and running it again (change
   * `refresh`, or `cdk-neon-migration schema post --jobs`) skips what exists and completes it.
   * Each session builds one index; choose about the target's vCPUs (a Neon compute unit has one).
   *
   * @default 1 - one transaction: everything or nothing
   */
  readonly postDataJobs?: number;

  /**
   * `maintenance_work_mem` of each session building indexes (the memory an index build sorts in,
   * 1 MiB–8 GiB). The jobs use it at once: keep `postDataJobs` × this within about half the
   * target's memory (a Neon compute unit has 4 GiB). See docs/production-size.md.
   *
   * @default - the target's setting
   */
  readonly maintenanceWorkMem?: Size;
}

/**
 * Properties of a `PostgresSchemaCopy`.
 */
export interface PostgresSchemaCopyProps extends SchemaCopyOptions {
  /** The source database's secret (RDS JSON: `host`, `port`, `username`, `password`). */
  readonly sourceSecret: secretsmanager.ISecret;

  /** The source database's name. */
  readonly sourceDatabaseName: string;

  /**
   * Neon's credentials (JSON: `host`, `port`, `username`, `password`, `dbname`) for a client that
   * sends TLS SNI, as libpq 14 and later does: `NeonTargetEndpoint.clientCredentialsSecret`, not the
   * DMS endpoint's `credentialsSecret`.
   */
  readonly targetSecret: secretsmanager.ISecret;

  /** The table mappings of the task: the steps copy the schema of the tables they select. */
  readonly tableMappings: TableMappings;

  /**
   * Whether DMS applies changes after the full load (`FULL_LOAD_AND_CDC`). The step after the full
   * load then creates the indexes and the primary-key, unique, exclusion and check constraints only;
   * foreign keys, triggers, identity columns' `GENERATED ALWAYS` and the sequences wait for `cutover`.
   *
   * @default false
   */
  readonly changeDataCapture?: boolean;

  /**
   * A task that stops after its full load (`stopAfterFullLoad`), resumed once the step after the
   * full load created the indexes.
   *
   * @default - none
   */
  readonly resumeTaskArn?: string;

  /**
   * The replication task (or DMS Serverless replication configuration) whose full load the steps
   * after it follow: they wait until it finished (also when the deployment stopped waiting for it at
   * `maxWait`), and fail the deployment when it failed, stopped or no longer exists.
   *
   * @default - the steps after the load run when their dependencies are met, unchecked
   */
  readonly loadArn?: string;
}

/**
 * Copies the schema of a PostgreSQL source into Neon with the PostgreSQL client tools, in
 * deploy-time steps around a DMS task's full load: `before` (the pre-data section of `pg_dump`:
 * extensions, types, domains, functions, sequences, tables, views, without owners and privileges)
 * and `after` (the post-data section: indexes, constraints, triggers; then every sequence set from
 * the source). With `changeDataCapture`, `after` creates the indexes and the constraints DMS's
 * change apply keeps intact, and `cutover` the rest.
 *
 * The steps run as builds of an AWS CodeBuild project in the replication subnets, in a pinned
 * `postgres` image; the connection details come from Secrets Manager into the build (CodeBuild
 * masks them in its log), never through the template. Each step is a custom resource of the stack's
 * shared provider: `before` starts its build and waits for it; the steps after the load hand their
 * work to the stack's load waiter, which waits for the full load, starts the build, follows it and
 * signals the step's wait condition (`afterLoadCompletion`), up to 12 hours. A failed build fails
 * the deployment with the end of its log, where the tool writes its own message. When the operation
 * that created `before` fails and rolls back, `before` drops what it created again (the tool's
 * `undo`), so that the next deployment starts from the same target.
 *
 * `DmsMigrationTask` creates one with `schemaCopy` and orders it: `before` ahead of the task start,
 * `after` once the lifecycle's wait ended (it waits for the rest of the load itself). See
 * docs/step-order.md.
 *
 * @example
 * import * as rds from 'aws-cdk-lib/aws-rds';
 * import { NatEgressForReplication, NeonTargetEndpoint, PostgresSchemaCopy, TableMappings } from 'cdk-neon-migration';
 *
 * declare const network: NatEgressForReplication;
 * declare const database: rds.DatabaseInstance;
 * declare const neon: NeonTargetEndpoint;
 *
 * const schema = new PostgresSchemaCopy(this, 'Schema', {
 *   network,
 *   sourceSecret: database.secret!,
 *   sourceDatabaseName: 'app',
 *   targetSecret: neon.clientCredentialsSecret,
 *   tableMappings: TableMappings.includeSchema('app'),
 * });
 */
export class PostgresSchemaCopy extends Construct implements ec2.IConnectable {
  /** The CodeBuild project running the schema tool. */
  public readonly project: codebuild.Project;
  /** The pre-data step: the task must start after it. */
  public readonly before: CustomResource;
  /**
   * The step after the full load: post-data and sequences, or with `changeDataCapture` the indexes.
   * Undefined with `deployAfterLoadSteps: false`.
   */
  public readonly after?: CustomResource;
  /** With `changeDataCapture` and `cutover`: foreign keys, triggers, identity, sequences. */
  public readonly cutover?: CustomResource;
  /**
   * Completes when the steps after the load the deployment runs have ended (their wait conditions),
   * and with them a task resumed after its load: what comes after the migration's data and schema
   * (a verification) depends on it. With `deployAfterLoadSteps: false`, the pre-data step.
   */
  public readonly afterLoadCompletion: IDependable;
  /** The wait conditions of the steps after the load, by step (`After`, `Cutover`). */
  public readonly waitConditions: Record<string, IDependable> = {};
  /** The log group of the builds (the tool's messages; connection details are masked). */
  public readonly logGroup: logs.LogGroup;
  /** The replication security group the tools run in: open databases to it (ec2.IConnectable). */
  public readonly connections: ec2.Connections;

  constructor(scope: Construct, id: string, props: PostgresSchemaCopyProps) {
    super(scope, id);
    const network = props.network;
    if (!network) {
      throw new Error('PostgresSchemaCopy: network is required: the schema tools run in the replication subnets, where they reach the source and Neon.');
    }
    this.connections = new ec2.Connections({ securityGroups: [network.securityGroup] });
    const deployAfterLoad = props.deployAfterLoadSteps ?? true;
    const timeout = validateTimeout(props.timeout ?? DEFAULT_TIMEOUT, deployAfterLoad);
    if (props.cutover && !deployAfterLoad) {
      throw new Error('PostgresSchemaCopy: cutover runs a step after the load in the deployment, and deployAfterLoadSteps is false: '
        + 'run the cut-over by hand (cdk-neon-migration schema constraints, then schema sequences), or remove deployAfterLoadSteps.');
    }
    if (props.cutover && !props.changeDataCapture) {
      throw new Error('PostgresSchemaCopy: cutover applies to a migration with changeDataCapture (FULL_LOAD_AND_CDC); with a full load only, '
        + 'the step after the load creates the foreign keys, triggers and sequences already. Remove cutover.');
    }
    validateMappings(props.tableMappings);
    refuseEndpointInPassword(props.targetSecret, 'PostgresSchemaCopy', 'targetSecret', 'The schema tools (psql, pg_dump: libpq 14 and later) send SNI');
    const jobs = props.postDataJobs;
    if (jobs !== undefined && !Token.isUnresolved(jobs) && (!Number.isInteger(jobs) || jobs < 1 || jobs > 16)) {
      throw new Error(`PostgresSchemaCopy: postDataJobs is ${jobs}; use an integer from 1 to 16 (about the target's vCPUs: each job builds one index at a time).`);
    }
    const memory = props.maintenanceWorkMem;
    const kib = memory === undefined || memory.isUnresolved() ? undefined : memory.toKibibytes();
    if (kib !== undefined && (kib < 1024 || kib > 8 * 1024 * 1024 || kib % 1024 !== 0)) {
      throw new Error('PostgresSchemaCopy: maintenanceWorkMem must be a whole number of mebibytes from 1 MiB to 8 GiB, e.g. Size.gibibytes(1).');
    }

    const key = createRotatingKey(this, 'Key', { description: `Encrypts the schema-copy builds of ${this.node.path}` });
    // named, so that the key lets CloudWatch Logs use it for this log group only (a generated name
    // would make the key policy refer to the log group that refers to the key)
    const logGroupName = logGroupNameFor(this, 'builds');
    allowLogsToUseKey(this, key, logGroupName);
    this.logGroup = new logs.LogGroup(this, 'Logs', { logGroupName, retention: logs.RetentionDays.ONE_YEAR, encryptionKey: key });

    // the replication security group reaches the source and Neon and is admitted by the Secrets
    // Manager endpoint; this one adds HTTPS out for the image, the tool's files and the build log
    const https = new ec2.SecurityGroup(this, 'HttpsEgress', {
      vpc: network.vpc,
      description: 'cdk-neon-migration schema copy: HTTPS to the image registry, S3 and CloudWatch Logs',
      allowAllOutbound: false,
    });
    https.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'ECR Public, S3 and CloudWatch Logs');

    const tool = new s3assets.Asset(this, 'Tool', { path: path.join(__dirname, '..', '..', 'assets', 'lib', 'schema') });
    const sourceArn = completeSecretArn(this, props.sourceSecret, 'sourceSecret');
    const targetArn = completeSecretArn(this, props.targetSecret, 'targetSecret');
    const secretVariable = (arn: string, field: string): codebuild.BuildEnvironmentVariable => ({
      type: codebuild.BuildEnvironmentVariableType.SECRETS_MANAGER,
      value: `${arn}:${field}`,
    });

    this.project = new codebuild.Project(this, 'Project', {
      description: `cdk-neon-migration: copies the PostgreSQL schema of ${this.node.path} into Neon (pg_dump, psql)`,
      source: codebuild.Source.s3({ bucket: tool.bucket, path: tool.s3ObjectKey }),
      environment: {
        buildImage: codebuild.LinuxBuildImage.fromDockerRegistry(props.image ?? DEFAULT_SCHEMA_TOOLS_IMAGE),
        computeType: codebuild.ComputeType.SMALL,
        environmentVariables: {
          SOURCE_PGHOST: secretVariable(sourceArn, 'host'),
          SOURCE_PGPORT: secretVariable(sourceArn, 'port'),
          SOURCE_PGUSER: secretVariable(sourceArn, 'username'),
          SOURCE_PGPASSWORD: secretVariable(sourceArn, 'password'),
          SOURCE_PGDATABASE: { value: props.sourceDatabaseName },
          SOURCE_PGSSLMODE: { value: 'require' },
          TARGET_PGHOST: secretVariable(targetArn, 'host'),
          TARGET_PGPORT: secretVariable(targetArn, 'port'),
          TARGET_PGUSER: secretVariable(targetArn, 'username'),
          TARGET_PGPASSWORD: secretVariable(targetArn, 'password'),
          TARGET_PGDATABASE: secretVariable(targetArn, 'dbname'),
          TARGET_PGSSLMODE: { value: 'require' },
          ALLOWED_EXTENSIONS_FILE: { value: 'neon-extensions.json' },
          ...(props.postDataJobs !== undefined ? { POST_DATA_JOBS: { value: String(props.postDataJobs) } } : {}),
          ...(props.maintenanceWorkMem !== undefined ? { MAINTENANCE_WORK_MEM: { value: `${props.maintenanceWorkMem.toMebibytes()}MB` } } : {}),
        },
      },
      buildSpec: codebuild.BuildSpec.fromObject({
        version: '0.2',
        phases: {
          build: {
            commands: ['for step in $SCHEMA_STEPS; do bash schema-copy.sh "$step" || exit 1; done'],
          },
        },
      }),
      vpc: network.vpc,
      subnetSelection: network.replicationSubnets,
      securityGroups: [network.securityGroup, https],
      encryptionKey: key,
      timeout,
      // a build CodeBuild cannot start at once waits in its queue, 8 hours by default: longer than
      // the deployment waits for a step; 10 minutes, and the handler reports it
      queuedTimeout: SCHEMA_BUILD_QUEUE,
      logging: { cloudWatch: { logGroup: this.logGroup } },
    });
    this.project.node.addDependency(network.egressReady);
    grantSecretRead(this, props.sourceSecret, this.project);
    props.targetSecret.grantRead(this.project);

    const provider = MigrationProvider.of(this);
    const projectArn = this.project.projectArn;
    const permissions = new iam.Policy(this, 'StartBuilds', {
      roles: [provider.role],
      statements: [
        // StopBuild and ListBuildsForProject: deleting a step after the load stops its build still running
        new iam.PolicyStatement({
          actions: ['codebuild:StartBuild', 'codebuild:BatchGetBuilds', 'codebuild:ListBuildsForProject', 'codebuild:StopBuild'],
          resources: [projectArn],
        }),
        new iam.PolicyStatement({ actions: ['logs:GetLogEvents'], resources: [logStreamsArn(this, logGroupName)] }),
      ],
    });

    const mappings = props.tableMappings.toJson();
    const timeoutMinutes = Token.isUnresolved(timeout.toSeconds()) ? undefined : Math.ceil(timeout.toMinutes({ integral: false }));
    const common = {
      ProjectName: this.project.projectName,
      TableMappings: mappings,
      Refresh: props.refresh,
      QueueMinutes: String(SCHEMA_BUILD_QUEUE.toMinutes()),
    };
    // the pre-data step, before the load, waits for its build in its own custom resource: within the hour
    this.before = new CustomResource(this, 'Before', {
      serviceToken: provider.serviceToken,
      resourceType: SCHEMA_COPY_TYPE,
      properties: {
        ...common,
        Steps: 'pre',
        ...(timeoutMinutes !== undefined ? { TimeoutMinutes: String(Math.min(timeoutMinutes, PRE_DATA_BUILD_LIMIT.toMinutes())) } : {}),
      },
    });
    this.before.node.addDependency(permissions, this.project);

    // a step after the load waits for the load and for its build through a wait condition, up to 12 hours
    const waitSeconds = WAIT_CONDITION_LIMIT.minus(CONDITION_MARGIN).toSeconds();
    const reserved = SCHEMA_BUILD_QUEUE.plus(RESUME_ALLOWANCE).toSeconds() + (timeoutMinutes ?? AFTER_LOAD_BUILD_LIMIT.toMinutes()) * 60;
    const afterLoadStep = (stepId: string, steps: string, resumeTaskArn?: string): CustomResource => {
      const completion = new LoadCompletion(this, `${stepId}Completion`, {
        maxWaitSeconds: waitSeconds,
        // a new wait condition whenever the step runs again
        identity: () => ({ Steps: steps, Refresh: props.refresh }),
      });
      const resource = new CustomResource(this, stepId, {
        serviceToken: provider.serviceToken,
        resourceType: SCHEMA_COPY_TYPE,
        properties: {
          ...common,
          ...completion.properties,
          Steps: steps,
          ...(timeoutMinutes !== undefined ? { TimeoutMinutes: String(timeoutMinutes) } : {}),
          MaxWaitSeconds: String(waitSeconds),
          LoadWaitSeconds: String(waitSeconds - reserved),
          ...(props.loadArn ? { LoadArn: props.loadArn } : {}),
          ...(resumeTaskArn ? { ResumeTaskArn: resumeTaskArn } : {}),
        },
      });
      resource.node.addDependency(permissions, this.project, this.before);
      this.waitConditions[stepId] = completion.waitFor(resource);
      return resource;
    };
    if (deployAfterLoad) {
      if (props.changeDataCapture) {
        // DMS applies changes as statements, in commit order but not in the source's transactions when
        // batched; foreign keys and triggers (which Neon's roles cannot switch off) wait for the cut-over
        this.after = afterLoadStep('After', 'indexes', props.resumeTaskArn);
        if (props.cutover) {
          this.cutover = afterLoadStep('Cutover', 'constraints sequences');
          this.cutover.node.addDependency(this.waitConditions.After);
        }
      } else {
        this.after = afterLoadStep('After', 'post sequences', props.resumeTaskArn);
      }
    }
    const conditions = Object.values(this.waitConditions);
    this.afterLoadCompletion = conditions.length > 0 ? new DependencyGroup(...conditions) : this.before;

    const stack = Stack.of(this);
    acknowledgeRules(this.project, [
      {
        id: 'AwsSolutions-CB5',
        reason: 'The schema steps need the PostgreSQL client tools of a known major version (at least the servers\'); CodeBuild\'s curated images carry none. The official postgres image from ECR Public is pinned to a patch release.',
      },
      { id: 'AwsSolutions-IAM5[Action::s3:GetObject*]', reason: 'aws-cdk-lib grants the build read access to the tool\'s asset object in the bootstrap bucket (its source), no more.' },
      { id: 'AwsSolutions-IAM5[Action::s3:GetBucket*]', reason: 'aws-cdk-lib grants the build read access to the tool\'s asset object in the bootstrap bucket (its source), no more.' },
      { id: 'AwsSolutions-IAM5[Action::s3:List*]', reason: 'aws-cdk-lib grants the build read access to the tool\'s asset object in the bootstrap bucket (its source), no more.' },
      { id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason: 'The build encrypts its artifacts and log with the construct\'s own key; aws-cdk-lib grants the key actions CodeBuild uses.' },
      { id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason: 'The build encrypts its artifacts and log with the construct\'s own key; aws-cdk-lib grants the key actions CodeBuild uses.' },
      {
        // aws-cdk-lib writes this ARN with the pseudo parameters, in a concrete environment too
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/*]',
        reason: 'CodeBuild attaches the build to the VPC through network interfaces it creates; aws-cdk-lib limits the permission to the project\'s subnets by condition.',
      },
      {
        id: nagFindingId(this, 'AwsSolutions-IAM5', 'Resource',
          stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: `/aws/codebuild/${this.project.projectName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })),
        reason: 'aws-cdk-lib grants the build its default log group; the build logs to this construct\'s own log group.',
      },
      {
        id: nagFindingId(this, 'AwsSolutions-IAM5', 'Resource',
          stack.formatArn({ service: 'codebuild', resource: 'report-group', resourceName: `${this.project.projectName}-*` })),
        reason: 'aws-cdk-lib grants the build its own test report groups; the schema steps create none.',
      },
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'ec2:Describe* calls CodeBuild makes to attach the build to the VPC have no resource-level permissions.' },
    ]);
    acknowledgeRules(this, [
      { id: 'AwsSolutions-CB4', reason: 'The project is encrypted with the customer managed key of this construct.' },
      {
        id: nagFindingId(this, 'AwsSolutions-IAM5', 'Resource', logStreamsArn(this, logGroupName)),
        reason: 'The handler reads the log streams of this project\'s log group only, to report the tool\'s message of a failed build.',
      },
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The policies name this project, its log group and its secrets, which exist in this stack only.' },
    ]);
  }

  /** Start the pre-data step only after `dependables` exist (e.g. the source opened to the replication compute). */
  public addBeforeDependency(...dependables: IDependable[]): void {
    this.before.node.addDependency(...dependables);
  }

  /** Begin the steps after the load only after `dependables` (the lifecycle's wait for the full load). */
  public addAfterDependency(...dependables: IDependable[]): void {
    this.after?.node.addDependency(...dependables);
  }

}

/**
 * The build timeout: from 5 minutes; with the steps after the load in the deployment, at most what a
 * wait condition leaves for their build (11 hours); else CodeBuild's 36 hours.
 */
function validateTimeout(timeout: Duration, deployAfterLoad: boolean): Duration {
  if (timeout.isUnresolved()) {
    return timeout;
  }
  const minutes = timeout.toMinutes({ integral: false });
  if (minutes < 5) {
    throw new Error(`PostgresSchemaCopy: timeout is ${timeout.toHumanString()}; CodeBuild takes a build timeout from 5 minutes.`);
  }
  if (deployAfterLoad && minutes > AFTER_LOAD_BUILD_LIMIT.toMinutes()) {
    throw new Error(`PostgresSchemaCopy: timeout is ${timeout.toHumanString()}, longer than the deployment can wait for a step after the load: `
      + 'CloudFormation waits at most 12 hours for a wait condition, and the step\'s build gets at most 11 hours of them (the rest is the '
      + `${SCHEMA_BUILD_QUEUE.toMinutes()} minutes a build may queue, resuming the task and a margin). Shorten timeout to Duration.hours(11) or less, `
      + 'or set deployAfterLoadSteps: false to leave the steps after the load out of the deployment and run them by hand '
      + '(cdk-neon-migration schema post, or schema indexes) once the full load ended.');
  }
  if (minutes > CODEBUILD_TIMEOUT_LIMIT.toMinutes()) {
    throw new Error(`PostgresSchemaCopy: timeout is ${timeout.toHumanString()}; CodeBuild takes a build timeout of at most 36 hours.`);
  }
  return timeout;
}

/**
 * DMS writes to the tables under the names the transformation rules give them; the schema copy
 * restores the source's objects under their own names. Rules that rename, add or change columns
 * would leave the two apart. `remove-column` is left to the tool, which allows it for stored
 * generated columns only (DMS must not write them; the target computes them) and checks that on
 * the source's catalog. Views selected as tables (`table-type` `view` or `all`) would arrive as
 * tables next to the views the copy creates.
 */
function validateMappings(mappings: TableMappings): void {
  const json = mappings.toJson();
  if (Token.isUnresolved(json)) {
    return;
  }
  const document = JSON.parse(json) as { rules: Array<Record<string, unknown>> };
  for (const rule of document.rules) {
    const name = String(rule['rule-name'] ?? rule['rule-id']);
    const action = String(rule['rule-action']);
    if (rule['rule-type'] === 'selection') {
      const locator = (rule['object-locator'] ?? {}) as Record<string, unknown>;
      const type = String(locator['table-type'] ?? 'table').toLowerCase();
      if (action !== 'exclude' && type !== 'table') {
        throw new Error(`PostgresSchemaCopy: the selection rule '${name}' selects table-type '${type}': DMS would load views into tables of their name, `
          + 'while the schema copy creates the views themselves. Select tables only (table-type table, the default).');
      }
      continue;
    }
    if (rule['rule-type'] !== 'transformation') continue;
    if (/^(rename|add-column|include-column|convert-lowercase|convert-uppercase|add-prefix|remove-prefix|replace-prefix|add-suffix|remove-suffix|replace-suffix|change-data-type|define-primary-key|add-before-image-columns|data-masking.*)$/.test(action)) {
      throw new Error(`PostgresSchemaCopy: the table mappings hold the transformation rule '${name}' `
        + `(${action} on ${String(rule['rule-target'])}): the schema copy restores the source's objects under their own names and columns, `
        + 'which DMS would no longer write to. Remove the rule, or create the target schema yourself and leave schemaCopy out.');
    }
  }
}
