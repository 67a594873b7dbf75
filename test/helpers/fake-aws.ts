import { CloudFormationClient, DescribeStackResourceCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { BatchGetBuildsCommand, CodeBuildClient, ListBuildsForProjectCommand, StartBuildCommand, StopBuildCommand } from '@aws-sdk/client-codebuild';
import {
  CancelReplicationTaskAssessmentRunCommand,
  DatabaseMigrationServiceClient,
  DescribeApplicableIndividualAssessmentsCommand,
  DescribeConnectionsCommand,
  DescribeDataProvidersCommand,
  DescribeMetadataModelAssessmentsCommand,
  DescribeMetadataModelConversionsCommand,
  DescribeMetadataModelExportsToTargetCommand,
  DescribeMetadataModelImportsCommand,
  DescribeReplicationsCommand,
  DescribeReplicationTaskAssessmentRunsCommand,
  DescribeReplicationTaskIndividualAssessmentsCommand,
  DescribeReplicationTasksCommand,
  DescribeTableStatisticsCommand,
  ExportMetadataModelAssessmentCommand,
  GetTargetSelectionRulesCommand,
  ListTagsForResourceCommand,
  StartMetadataModelAssessmentCommand,
  StartMetadataModelConversionCommand,
  StartMetadataModelExportToTargetCommand,
  StartMetadataModelImportCommand,
  StartReplicationCommand,
  StartReplicationTaskAssessmentRunCommand,
  StartReplicationTaskCommand,
  StopReplicationCommand,
  StopReplicationTaskCommand,
  TestConnectionCommand,
} from '@aws-sdk/client-database-migration-service';
import { AttachRolePolicyCommand, CreateRoleCommand, GetRoleCommand, IAMClient, TagRoleCommand } from '@aws-sdk/client-iam';
import { DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient, StartExecutionCommand, StartSyncExecutionCommand } from '@aws-sdk/client-sfn';
import { AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { DeployedTemplate, secretSuffix } from './deployed';
import { DmsModel, DmsReplication, DmsTask, StartType } from './dms-model';
import { AuthorizedRequest, IamModel } from './iam-simulation';
import { SecretRecord, resolveSecretId } from './secrets-manager-model';

/**
 * An AWS account as the handlers see it during a deployment, behind the SDK clients they use
 * (aws-sdk-client-mock): DMS (a `DmsModel`: tasks, endpoints, instances and serverless replications
 * with their tags, and DMS's rules on each call), Secrets Manager secrets that resolve `SecretId` by
 * Secrets Manager's own rules, IAM roles, CloudWatch, Step Functions, and CloudFormation's
 * `DescribeStacks` answering the stack's current status (`stackStatus`). DMS moves a started task
 * through its states as the simulated clock advances.
 *
 * Every call is recorded with the AWS requests it makes IAM authorize — the action on the resource,
 * with the resource's tags as request context, and the KMS requests Secrets Manager makes on the
 * caller's behalf for secrets under a customer managed key — so a test can check them against the
 * policies the template gives the caller's role.
 */

export interface RecordedCall {
  readonly command: string;
  readonly input: any;
  /** The custom resource and request type being handled when the call was made. */
  readonly origin: string;
  /** Logical id of the role the calling function runs as. */
  readonly role: string;
  /** What IAM authorizes for this call. */
  readonly requests: AuthorizedRequest[];
}

/** A CodeBuild build as the account holds it. */
export interface FakeBuild {
  readonly id: string;
  readonly project: string;
  /** The environment variables the build was started with (`environmentVariablesOverride`). */
  readonly environment: Record<string, string>;
  /** How often BatchGetBuilds looked at it. */
  looks: number;
  /** When it was started (ms of the account's clock). */
  readonly startedAt: number;
  /** When it left the queue and ran (when `buildRunner` decides). */
  readonly runsAt?: number;
  /** When it ends, and how, when `buildRunner` decides (unset: it succeeds at its second look). */
  readonly endsAt?: number;
  /** `TIMED_OUT` in the queue past the project's `QueuedTimeoutInMinutes`, or running past its build timeout. */
  readonly outcome?: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';
  /** The phase it ended in: `QUEUED` for a build that never left the queue. */
  readonly endPhase?: 'QUEUED' | 'BUILD';
  /** `STOPPED` once StopBuild stopped it before its end. */
  stoppedAt?: number;
  /** Whether its end was applied (`BuildPlan.effect` ran). */
  settled: boolean;
  readonly idempotencyToken?: string;
}

/** How a build runs (see `FakeAws.buildRunner`). */
export interface BuildPlan {
  /** How long it runs, once out of the queue. */
  readonly seconds: number;
  /** How long it waits in the queue first (the account's concurrent builds in use). @default 0 */
  readonly queuedSeconds?: number;
  readonly outcome: 'SUCCEEDED' | 'FAILED';
  /** What the build did, applied at its end when it was not stopped before (e.g. to a stand-in target database). */
  readonly effect?: () => void;
}

export interface FakeAwsOptions {
  /**
   * The account's DMS. Given, it holds what CloudFormation created so far (see `CloudFormationModel`).
   *
   * @default - a DMS holding every DMS resource of the template, as a deployment that created them
   * left them: tasks `ready`, replication configurations `created`
   */
  readonly dms?: DmsModel;
}

export class FakeAws {
  /** The stand-in the SDK clients answer with now (several exist while the stacks of one app are modelled). */
  private static active?: FakeAws;

  public readonly calls: RecordedCall[] = [];
  public readonly secrets: SecretRecord[] = [];
  public readonly roles = new Map<string, { tags: { Key: string; Value: string }[]; policies: string[] }>();
  /** Step Functions executions started, by name, with the time they started. */
  public readonly executions = new Map<string, { stateMachineArn: string; input: any; startedAt: number }>();
  /** The account's DMS. */
  public readonly dms: DmsModel;
  /** What `DescribeStacks` answers as the stack's `StackStatus`. */
  public stackStatus = 'CREATE_IN_PROGRESS';
  /**
   * The id of the stack now, when it is not the template's (a stack created again after one was
   * deleted gets a new id); `DescribeStacks` answers `DELETE_COMPLETE` for the ids in `deletedStackIds`.
   */
  public currentStackId?: string;
  public readonly deletedStackIds = new Set<string>();
  /**
   * How each build runs: given, a build waits `queuedSeconds` in the queue, then runs for `seconds`
   * and ends as the plan says (its `effect` applied then), as CodeBuild runs it: a build queued
   * longer than the project's `QueuedTimeoutInMinutes` (480 by default) ends `TIMED_OUT` in its
   * QUEUED phase, one that runs longer than its build timeout (`timeoutInMinutesOverride`, else the
   * project's `TimeoutInMinutes`, 60 by default) ends `TIMED_OUT` then; StopBuild stops it before.
   * Without it, every build succeeds at its second look.
   */
  public buildRunner?: (build: { id: string; project: string; environment: Record<string, string> }) => BuildPlan;
  /** The status of a resource of the stack (its last step), for DescribeStackResource; undefined when it has none. */
  public resourceStatus?: (logicalId: string) => string | undefined;
  /**
   * Runs a synchronous express execution (`StartSyncExecution`): the state machine's work, answering
   * its output. A test sets it to run the function the state machine invokes.
   */
  public syncExecution?: (stateMachineArn: string, input: string) => Promise<string>;
  /** The physical id of a resource of the stack, for DescribeStackResource; none when undefined. */
  public resourcePhysicalId?: (logicalId: string) => string | undefined;
  public origin = '(no custom resource)';
  /** Logical id of the role of the function running now. */
  public role = '';

  private readonly connections = new Map<string, { status: string; polls: number }>();
  private mocks: {
    dms: ClientAnswers;
    sm: ClientAnswers;
    iam: ClientAnswers;
    cw: ClientAnswers;
    sfn: ClientAnswers;
    cfn: ClientAnswers;
    codebuild: ClientAnswers;
    logs: ClientAnswers;
  };
  /**
   * Premigration assessment runs started, by ARN: the request, and how often the run was looked at
   * (`running` at the first look, `passed` from the second, unless cancelled).
   */
  public readonly assessmentRuns = new Map<string, { input: any; looks: number; cancelled: boolean }>();
  /** DMS Schema Conversion requests started (import, assessment, conversion, export to target), by id; each succeeds at its second look. */
  public readonly schemaConversionRequests = new Map<string, { operation: string; input: any; looks: number }>();
  /** Builds started, by id: the project and its environment overrides; see `buildRunner` for how they run. */
  public readonly builds = new Map<string, FakeBuild>();
  private readonly buildPlans = new Map<string, BuildPlan>();

  constructor(private readonly deployed: DeployedTemplate, options: FakeAwsOptions = {}) {
    const d = deployed;
    this.dms = options.dms ?? dmsOfTemplate(d);
    for (const id of d.logicalIds('AWS::SecretsManager::Secret')) {
      const arn = d.ref(id);
      const kmsKeyId = d.property(id, 'KmsKeyId');
      this.secrets.push({ arn, name: arn.split(':secret:')[1].slice(0, -7), value: 'generated', kmsKeyArn: kmsKeyId ? IamModel.of(d).keyArn(kmsKeyId) : undefined });
    }
    this.mocks = mockClients();
    this.install();
    FakeAws.active = this;
  }

  /**
   * Makes the SDK clients answer with this account again, after the stand-in of another stack of
   * the app took them over (the last one made answers).
   */
  public activate(): void {
    if (FakeAws.active === this) return;
    this.mocks = mockClients();
    this.install();
    FakeAws.active = this;
  }

  /** A secret created outside the stack (imported by name or ARN), with the ARN Secrets Manager gives it. */
  public addSecret(name: string, value: string, kmsKeyArn?: string): string {
    const { account, region, partition } = this.deployed.env;
    const arn = `arn:${partition}:secretsmanager:${region}:${account}:secret:${name}-${secretSuffix(name)}`;
    this.secrets.push({ arn, name, value, kmsKeyArn });
    return arn;
  }

  /** The secret's current value. */
  public secretValue(arn: string): string {
    return this.secret(arn).value;
  }

  public restore(): void {
    for (const mock of Object.values(this.mocks)) mock.restore();
    if (FakeAws.active === this) FakeAws.active = undefined;
  }

  /** The clock of the account (the DMS model's, a deployment's simulated clock when it has one). */
  public now(): number {
    return this.dms.now();
  }

  /**
   * Applies the end of every build that ended by now and was not stopped (its plan's effect), in
   * the order they ended. The build calls and a test reading the builds' results call it.
   */
  public settleBuilds(): void {
    const now = this.now();
    const ended = [...this.builds.values()]
      .filter(b => !b.settled && b.endsAt !== undefined && b.endsAt <= now && (b.stoppedAt === undefined || b.stoppedAt >= b.endsAt))
      .sort((a, b) => a.endsAt! - b.endsAt!);
    for (const b of ended) {
      b.settled = true;
      if (b.outcome === 'SUCCEEDED') this.buildPlans.get(b.id)?.effect?.();
    }
  }

  /** When a build planned by `buildRunner` runs and ends, and how (see `buildRunner`). */
  private buildTimes(now: number, plan: BuildPlan, project: string, timeoutOverride: number | undefined): Partial<FakeBuild> {
    const setting = (name: string) => {
      const id = this.deployed.logicalIds('AWS::CodeBuild::Project').find(p => project.startsWith(this.deployed.ref(p)));
      const value = id === undefined ? undefined : this.deployed.property(id, name);
      return value === undefined ? undefined : Number(value);
    };
    const queueLimit = (setting('QueuedTimeoutInMinutes') ?? 480) * 60;
    const timeout = (timeoutOverride ?? setting('TimeoutInMinutes') ?? 60) * 60;
    const queued = plan.queuedSeconds ?? 0;
    if (queued > queueLimit) {
      return { endsAt: now + queueLimit * 1000, outcome: 'TIMED_OUT', endPhase: 'QUEUED' };
    }
    const runsAt = now + queued * 1000;
    return plan.seconds > timeout
      ? { runsAt, endsAt: runsAt + timeout * 1000, outcome: 'TIMED_OUT', endPhase: 'BUILD' }
      : { runsAt, endsAt: runsAt + plan.seconds * 1000, outcome: plan.outcome, endPhase: 'BUILD' };
  }

  /** The phases of an ended build, as BatchGetBuilds shows them. */
  private phasesOf(b: FakeBuild, status: string): { phaseType: string; phaseStatus: string; contexts?: { message: string }[] }[] {
    if (b.endPhase === 'QUEUED') {
      return [{ phaseType: 'SUBMITTED', phaseStatus: 'SUCCEEDED' }, { phaseType: 'QUEUED', phaseStatus: 'TIMED_OUT' }];
    }
    const message = status === 'TIMED_OUT' ? 'Build has timed out.' : status === 'STOPPED' ? 'Build was stopped.' : undefined;
    return [
      { phaseType: 'SUBMITTED', phaseStatus: 'SUCCEEDED' },
      { phaseType: 'QUEUED', phaseStatus: 'SUCCEEDED' },
      { phaseType: 'BUILD', phaseStatus: status, ...(message ? { contexts: [{ message }] } : {}) },
      { phaseType: 'COMPLETED', phaseStatus: status },
    ];
  }

  /** A build's status now: by its plan, or at its second look without one. */
  private buildStatus(b: FakeBuild): string {
    if (b.endsAt === undefined) {
      return b.looks > 1 ? 'SUCCEEDED' : 'IN_PROGRESS';
    }
    const now = this.now();
    if (b.stoppedAt !== undefined && b.stoppedAt < b.endsAt) {
      return now >= b.stoppedAt ? 'STOPPED' : 'IN_PROGRESS';
    }
    return now >= b.endsAt ? b.outcome! : 'IN_PROGRESS';
  }

  private install(): void {
    const { dms, sm, iam, cw, sfn, cfn, codebuild, logs } = this.mocks;
    const { partition, region, account } = this.deployed.env;
    const projectArn = (name: string) => `arn:${partition}:codebuild:${region}:${account}:project/${name}`;
    // CodeBuild: a StartBuild repeated with the same idempotency token within 5 minutes answers the same build
    codebuild.on(StartBuildCommand).callsFake(input => this.record('StartBuild', input, [this.req('codebuild:StartBuild', projectArn(input.projectName!))], () => {
      this.settleBuilds();
      const now = this.now();
      const same = input.idempotencyToken === undefined ? undefined
        : [...this.builds.values()].find(b => b.idempotencyToken === input.idempotencyToken && now - b.startedAt < 300_000);
      if (same) {
        return { build: { id: same.id, buildStatus: this.buildStatus(same) } };
      }
      const id = `${input.projectName}:${this.builds.size + 1}`;
      const overrides: { name?: string; value?: string }[] = input.environmentVariablesOverride ?? [];
      const environment = Object.fromEntries(overrides.map((v) => [v.name!, v.value!]));
      const plan = this.buildRunner?.({ id, project: input.projectName!, environment });
      if (plan) this.buildPlans.set(id, plan);
      this.builds.set(id, {
        id,
        project: input.projectName!,
        environment,
        looks: 0,
        startedAt: now,
        settled: false,
        idempotencyToken: input.idempotencyToken,
        ...(plan ? this.buildTimes(now, plan, input.projectName!, input.timeoutInMinutesOverride) : {}),
      });
      return { build: { id, buildStatus: 'IN_PROGRESS' } };
    }));
    codebuild.on(BatchGetBuildsCommand).callsFake(input => {
      const ids: string[] = input.ids ?? [];
      const requests = ids.map(id => this.req('codebuild:BatchGetBuilds', projectArn(id.split(':')[0])));
      return this.record('BatchGetBuilds', input, requests, () => {
        this.settleBuilds();
        return {
          builds: ids.map(id => {
            const b = this.builds.get(id);
            if (!b) return { id, buildStatus: 'FAILED' };
            b.looks++;
            const status = this.buildStatus(b);
            const queued = b.runsAt !== undefined && this.now() < b.runsAt;
            return {
              id,
              buildStatus: status,
              currentPhase: status !== 'IN_PROGRESS' ? 'COMPLETED' : queued ? 'QUEUED' : 'BUILD',
              startTime: new Date(b.startedAt),
              ...(status !== 'IN_PROGRESS' && b.endPhase ? { phases: this.phasesOf(b, status) } : {}),
              logs: { groupName: `/${b.project}`, streamName: id.split(':')[1] },
            };
          }),
        };
      });
    });
    codebuild.on(ListBuildsForProjectCommand).callsFake(input => this.record('ListBuildsForProject', input,
      [this.req('codebuild:ListBuildsForProject', projectArn(input.projectName!))], () => ({
        ids: [...this.builds.values()].filter(b => b.project === input.projectName).map(b => b.id).reverse(),
      })));
    codebuild.on(StopBuildCommand).callsFake(input => this.record('StopBuild', input, [this.req('codebuild:StopBuild', projectArn(input.id!.split(':')[0]))], () => {
      this.settleBuilds();
      const b = this.builds.get(input.id!);
      if (!b) throw fault('ResourceNotFoundException', `Build ${input.id} not found`);
      if (this.buildStatus(b) === 'IN_PROGRESS') b.stoppedAt = this.now();
      return { build: { id: b.id, buildStatus: this.buildStatus(b) } };
    }));
    logs.on(GetLogEventsCommand).callsFake(input => this.record('GetLogEvents', input,
      [this.req('logs:GetLogEvents', `arn:${partition}:logs:${region}:${account}:log-group:${input.logGroupName}:log-stream:${input.logStreamName}`)], () => ({ events: [] })));
    this.installAssessments();
    this.installSchemaConversion();
    dms.on(DescribeReplicationTasksCommand).callsFake(input => this.record('DescribeReplicationTasks', input, [this.req('dms:DescribeReplicationTasks', '*')], () => {
      const filter = input.Filters?.[0];
      this.dms.advance();
      const found = [...this.dms.tasks.values()].filter(t => filter?.Name === 'replication-task-arn' ? filter.Values.includes(t.arn) : filter?.Values.includes(t.identifier));
      if (found.length === 0) throw fault('ResourceNotFoundFault', 'No tasks found');
      return { ReplicationTasks: found.map(t => this.describeTask(t)) };
    }));
    dms.on(StartReplicationTaskCommand).callsFake(input => this.record('StartReplicationTask', input, this.taskRequests('dms:StartReplicationTask', input.ReplicationTaskArn), () => {
      const t = this.dms.startReplicationTask(input.ReplicationTaskArn, input.StartReplicationTaskType as StartType);
      return { ReplicationTask: this.describeTask(t) };
    }));
    dms.on(StopReplicationTaskCommand).callsFake(input => this.record('StopReplicationTask', input, this.taskRequests('dms:StopReplicationTask', input.ReplicationTaskArn), () => {
      const t = this.dms.stopReplicationTask(input.ReplicationTaskArn);
      return { ReplicationTask: this.describeTask(t) };
    }));
    dms.on(ListTagsForResourceCommand).callsFake(input => {
      const arn = input.ResourceArn!;
      const kind = arn.split(':')[5];
      return this.record('ListTagsForResource', input, [this.req('dms:ListTagsForResource', arn, dmsTags(kind, this.dms.tagsOf(arn)))], () => {
        const tags = this.dms.tagsOf(arn);
        if (tags === undefined) throw fault('ResourceNotFoundFault', `No resource with ARN ${arn}`);
        return { TagList: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) };
      });
    });
    dms.on(DescribeTableStatisticsCommand).callsFake(input => this.record('DescribeTableStatistics', input, this.taskRequests('dms:DescribeTableStatistics', input.ReplicationTaskArn), () => ({
      TableStatistics: [{ SchemaName: 'app', TableName: 't', TableState: 'Table completed', ValidationState: 'Validated', FullLoadRows: 10 }],
    })));
    dms.on(TestConnectionCommand).callsFake(input => this.record('TestConnection', input, [
      this.req('dms:TestConnection', input.EndpointArn, dmsTags('endpoint', this.dms.tagsOf(input.EndpointArn))),
      this.req('dms:TestConnection', input.ReplicationInstanceArn, dmsTags('rep', this.dms.tagsOf(input.ReplicationInstanceArn))),
    ], () => {
      this.connections.set(`${input.ReplicationInstanceArn} ${input.EndpointArn}`, { status: 'testing', polls: 0 });
      return { Connection: { EndpointArn: input.EndpointArn, ReplicationInstanceArn: input.ReplicationInstanceArn, Status: 'testing' } };
    }));
    dms.on(DescribeConnectionsCommand).callsFake(input => this.record('DescribeConnections', input, [this.req('dms:DescribeConnections', '*')], () => ({
      Connections: [...this.connections.entries()].map(([key, c]) => {
        c.status = ++c.polls > 1 ? 'successful' : 'testing';
        const [instance, endpoint] = key.split(' ');
        return { ReplicationInstanceArn: instance, EndpointArn: endpoint, Status: c.status };
      }),
    })));
    dms.on(DescribeReplicationsCommand).callsFake(input => this.record('DescribeReplications', input, [this.req('dms:DescribeReplications', '*')], () => {
      const filter = input.Filters?.[0];
      this.dms.advance();
      const found = [...this.dms.replications.values()].filter(r => filter?.Name === 'replication-config-arn' ? filter.Values.includes(r.arn) : filter?.Values.includes(r.identifier));
      return { Replications: found.map(r => this.describeReplication(r)) };
    }));
    dms.on(StartReplicationCommand).callsFake(input => this.record('StartReplication', input, this.replicationRequests('dms:StartReplication', input.ReplicationConfigArn), () => {
      const r = this.dms.startReplication(input.ReplicationConfigArn, input.StartReplicationType as StartType);
      return { Replication: this.describeReplication(r) };
    }));
    dms.on(StopReplicationCommand).callsFake(input => this.record('StopReplication', input, this.replicationRequests('dms:StopReplication', input.ReplicationConfigArn), () => {
      const r = this.dms.stopReplication(input.ReplicationConfigArn);
      return { Replication: this.describeReplication(r) };
    }));

    cfn.on(DescribeStacksCommand).callsFake(input => this.record('DescribeStacks', input, [this.req('cloudformation:DescribeStacks', this.stackArnOf(input.StackName))], () => {
      const stackId = this.currentStackId ?? this.deployed.stackId;
      if (input.StackName !== undefined && this.deletedStackIds.has(input.StackName)) {
        // a deleted stack is found by its id (not by its name), DELETE_COMPLETE
        return { Stacks: [{ StackId: input.StackName, StackName: this.deployed.env.stackName, StackStatus: 'DELETE_COMPLETE', CreationTime: new Date(0) }] };
      }
      if (input.StackName !== undefined && input.StackName !== stackId && input.StackName !== this.deployed.env.stackName) {
        throw fault('ValidationError', `Stack with id ${input.StackName} does not exist`);
      }
      return {
        Stacks: [{
          StackId: stackId,
          StackName: this.deployed.env.stackName,
          StackStatus: this.stackStatus,
          CreationTime: new Date(Date.parse('2026-11-29T12:00:00Z')),
        }],
      };
    }));

    cfn.on(DescribeStackResourceCommand).callsFake(input => this.record('DescribeStackResource', input,
      [this.req('cloudformation:DescribeStackResource', this.stackArnOf(input.StackName))], () => {
        const status = this.resourceStatus?.(input.LogicalResourceId!);
        if (status === undefined) throw fault('ValidationError', `Resource ${input.LogicalResourceId} does not exist for stack ${input.StackName}`);
        return {
          StackResourceDetail: {
            LogicalResourceId: input.LogicalResourceId,
            ResourceType: 'x',
            ResourceStatus: status,
            LastUpdatedTimestamp: new Date(0),
            PhysicalResourceId: this.resourcePhysicalId?.(input.LogicalResourceId!),
          },
        };
      }));

    sm.on(GetSecretValueCommand).callsFake(input => this.record('GetSecretValue', input, this.secretRequests('secretsmanager:GetSecretValue', input.SecretId, ['kms:Decrypt']), () => {
      const s = this.resolve(input.SecretId);
      return { ARN: s.arn, Name: s.name, SecretString: s.value };
    }));
    sm.on(PutSecretValueCommand).callsFake(input => this.record('PutSecretValue', input, this.secretRequests('secretsmanager:PutSecretValue', input.SecretId, ['kms:GenerateDataKey', 'kms:Decrypt']), () => {
      const s = this.resolve(input.SecretId);
      s.value = input.SecretString;
      return { ARN: s.arn, Name: s.name };
    }));
    sm.on(DescribeSecretCommand).callsFake(input => this.record('DescribeSecret', input, this.secretRequests('secretsmanager:DescribeSecret', input.SecretId, []), () => {
      const s = this.resolve(input.SecretId);
      return { ARN: s.arn, Name: s.name, KmsKeyId: s.kmsKeyArn };
    }));

    iam.on(GetRoleCommand).callsFake(input => this.record('GetRole', input, [this.req('iam:GetRole', this.roleArn(input.RoleName))], () => {
      const role = this.roles.get(input.RoleName);
      if (!role) throw fault('NoSuchEntityException', `The role with name ${input.RoleName} cannot be found.`);
      return { Role: { RoleName: input.RoleName, Arn: this.roleArn(input.RoleName), Tags: role.tags, Path: '/', RoleId: 'AROA', CreateDate: new Date() } };
    }));
    iam.on(CreateRoleCommand).callsFake(input => this.record('CreateRole', input, [
      this.req('iam:CreateRole', this.roleArn(input.RoleName), requestTags(input.Tags)),
      // creating a role with tags needs permission to tag it too
      ...((input.Tags ?? []).length > 0 ? [this.req('iam:TagRole', this.roleArn(input.RoleName), requestTags(input.Tags))] : []),
    ], () => {
      if (this.roles.has(input.RoleName)) throw fault('EntityAlreadyExistsException', 'exists');
      this.roles.set(input.RoleName, { tags: input.Tags ?? [], policies: [] });
      return { Role: { RoleName: input.RoleName, Arn: this.roleArn(input.RoleName), Path: '/', RoleId: 'AROA', CreateDate: new Date() } };
    }));
    iam.on(TagRoleCommand).callsFake(input => this.record('TagRole', input, [this.req('iam:TagRole', this.roleArn(input.RoleName), requestTags(input.Tags))], () => ({})));
    iam.on(AttachRolePolicyCommand).callsFake(input => this.record('AttachRolePolicy', input,
      [this.req('iam:AttachRolePolicy', this.roleArn(input.RoleName), { 'iam:PolicyARN': input.PolicyArn })], () => {
        this.roles.get(input.RoleName)?.policies.push(input.PolicyArn);
        return {};
      }));

    cw.on(PutMetricDataCommand).callsFake(input => this.record('PutMetricData', input,
      [this.req('cloudwatch:PutMetricData', '*', { 'cloudwatch:namespace': input.Namespace })], () => ({})));

    sfn.on(StartExecutionCommand).callsFake(input => this.record('StartExecution', input, [this.req('states:StartExecution', input.stateMachineArn!)], () => {
      const existing = this.executions.get(input.name!);
      if (existing && existing.input !== input.input) {
        throw fault('ExecutionAlreadyExists', `Execution ${input.name} already exists with another input`);
      }
      if (!existing) this.executions.set(input.name!, { stateMachineArn: input.stateMachineArn!, input: input.input, startedAt: this.now() });
      return { executionArn: `${input.stateMachineArn!.replace(':stateMachine:', ':execution:')}:${input.name}`, startDate: new Date() };
    }));
    this.installSyncExecutions(sfn);
  }

  /**
   * DMS premigration assessment runs: starting one is authorized on the task (with its tags) and
   * passes the service role to DMS (`iam:PassRole`, `iam:PassedToService`); the describe calls are
   * authorized on `*`; a run passes with two individual assessments.
   */
  private installAssessments(): void {
    const dms = this.mocks.dms;
    const { partition, region, account } = this.deployed.env;
    const runArn = (n: number) => `arn:${partition}:dms:${region}:${account}:assessment-run:RUN${n}`;
    const view = (arn: string) => {
      const run = this.assessmentRuns.get(arn)!;
      const status = run.cancelled ? 'cancelled' : run.looks > 1 ? 'passed' : 'running';
      return {
        ReplicationTaskAssessmentRunArn: arn,
        ReplicationTaskArn: run.input.ReplicationTaskArn,
        AssessmentRunName: run.input.AssessmentRunName,
        ServiceAccessRoleArn: run.input.ServiceAccessRoleArn,
        ResultLocationBucket: run.input.ResultLocationBucket,
        ResultLocationFolder: run.input.ResultLocationFolder,
        Status: status,
        ResultStatistic: status === 'passed' ? { Passed: 2, Failed: 0, Error: 0, Warning: 0, Cancelled: 0, Skipped: 0 } : undefined,
      };
    };
    dms.on(StartReplicationTaskAssessmentRunCommand).callsFake(input => this.record('StartReplicationTaskAssessmentRun', input, [
      ...this.taskRequests('dms:StartReplicationTaskAssessmentRun', input.ReplicationTaskArn),
      this.req('iam:PassRole', input.ServiceAccessRoleArn, { 'iam:PassedToService': 'dms.amazonaws.com' }),
    ], () => {
      if (this.dms.tagsOf(input.ReplicationTaskArn) === undefined) throw fault('ResourceNotFoundFault', 'Replication Task not found');
      const arn = runArn(this.assessmentRuns.size + 1);
      this.assessmentRuns.set(arn, { input, looks: 0, cancelled: false });
      return { ReplicationTaskAssessmentRun: { ...view(arn), Status: 'starting' } };
    }));
    dms.on(DescribeReplicationTaskAssessmentRunsCommand).callsFake(input => this.record('DescribeReplicationTaskAssessmentRuns', input,
      [this.req('dms:DescribeReplicationTaskAssessmentRuns', '*')], () => {
        const filter = input.Filters?.[0];
        const arns = [...this.assessmentRuns.entries()]
          .filter(([arn, r]) => (filter?.Name === 'replication-task-arn' ? filter.Values.includes(r.input.ReplicationTaskArn) : filter?.Values.includes(arn)))
          .map(([arn]) => arn);
        arns.forEach(arn => this.assessmentRuns.get(arn)!.looks++);
        return { ReplicationTaskAssessmentRuns: arns.map(view) };
      }));
    dms.on(DescribeReplicationTaskIndividualAssessmentsCommand).callsFake(input => this.record('DescribeReplicationTaskIndividualAssessments', input,
      [this.req('dms:DescribeReplicationTaskIndividualAssessments', '*')], () => ({
        ReplicationTaskIndividualAssessments: ['unsupported-data-types-in-source', 'postgres-check-dbowner'].map(name => ({
          IndividualAssessmentName: name, Status: 'passed', ReplicationTaskAssessmentRunArn: input.Filters?.[0]?.Values[0],
        })),
      })));
    dms.on(DescribeApplicableIndividualAssessmentsCommand).callsFake(input => this.record('DescribeApplicableIndividualAssessments', input,
      [this.req('dms:DescribeApplicableIndividualAssessments', '*')], () => ({
        IndividualAssessmentNames: ['unsupported-data-types-in-source', 'postgres-check-dbowner', 'postgres-check-bytea-data-type'],
      })));
    dms.on(CancelReplicationTaskAssessmentRunCommand).callsFake(input => this.record('CancelReplicationTaskAssessmentRun', input,
      [this.req('dms:CancelReplicationTaskAssessmentRun', input.ReplicationTaskAssessmentRunArn)], () => {
        const run = this.assessmentRuns.get(input.ReplicationTaskAssessmentRunArn);
        if (!run) throw fault('ResourceNotFoundFault', 'Assessment run not found');
        run.cancelled = true;
        return { ReplicationTaskAssessmentRun: view(input.ReplicationTaskAssessmentRunArn) };
      }));
  }

  /**
   * DMS Schema Conversion on the template's migration projects: each operation authorized on the
   * project with its IAM action (DescribeMetadataModelAssessments is `dms:ListMetadataModelAssessments`,
   * the exports' describe `dms:ListMetadataModelExports`), DescribeDataProviders (`dms:ListDataProviders`)
   * on `*`; requests succeed at their second look; a source schema converts into its name in lower
   * case on the template's PostgreSQL data provider.
   */
  private installSchemaConversion(): void {
    const dms = this.mocks.dms;
    const d = this.deployed;
    const providers = () => d.logicalIds('AWS::DMS::DataProvider')
      .map(id => ({ DataProviderArn: d.getAtt(id, 'DataProviderArn'), Engine: d.property(id, 'Engine'), Settings: d.property(id, 'Settings') }));
    const onProject = (action: string, input: { MigrationProjectIdentifier?: string }) => [this.req(action, input.MigrationProjectIdentifier!)];
    const starts: [any, string, string][] = [
      [StartMetadataModelAssessmentCommand, 'StartMetadataModelAssessment', 'assessment'],
      [StartMetadataModelConversionCommand, 'StartMetadataModelConversion', 'conversion'],
      [StartMetadataModelExportToTargetCommand, 'StartMetadataModelExportToTarget', 'export'],
      [StartMetadataModelImportCommand, 'StartMetadataModelImport', 'import'],
    ];
    for (const [command, name, operation] of starts) {
      dms.on(command).callsFake((input: any) => this.record(name, input, onProject(`dms:${name}`, input), () => {
        const id = `${operation}-${this.schemaConversionRequests.size + 1}`;
        this.schemaConversionRequests.set(id, { operation, input, looks: 0 });
        return { RequestIdentifier: id };
      }));
    }
    const describes: [any, string, string][] = [
      [DescribeMetadataModelAssessmentsCommand, 'DescribeMetadataModelAssessments', 'dms:ListMetadataModelAssessments'],
      [DescribeMetadataModelConversionsCommand, 'DescribeMetadataModelConversions', 'dms:ListMetadataModelConversions'],
      [DescribeMetadataModelExportsToTargetCommand, 'DescribeMetadataModelExportsToTarget', 'dms:ListMetadataModelExports'],
      [DescribeMetadataModelImportsCommand, 'DescribeMetadataModelImports', 'dms:DescribeMetadataModelImports'],
    ];
    for (const [command, name, action] of describes) {
      dms.on(command).callsFake((input: any) => this.record(name, input, onProject(action, input), () => ({
        Requests: [...this.schemaConversionRequests.entries()].filter(([id]) => input.Filters?.[0]?.Values.includes(id)).map(([id, r]) => {
          r.looks++;
          return { RequestIdentifier: id, MigrationProjectArn: input.MigrationProjectIdentifier, Status: r.looks > 1 ? 'SUCCESS' : 'IN_PROGRESS' };
        }),
      })));
    }
    dms.on(ExportMetadataModelAssessmentCommand).callsFake(input => this.record('ExportMetadataModelAssessment', input,
      onProject('dms:ExportMetadataModelAssessment', input), () => ({ CsvReport: { S3ObjectKey: `migration-project/${input.FileName}.zip` } })));
    dms.on(GetTargetSelectionRulesCommand).callsFake(input => this.record('GetTargetSelectionRules', input, onProject('dms:GetTargetSelectionRules', input), () => {
      const server = providers().find(p => p.Engine === 'postgres')?.Settings?.PostgreSqlSettings?.ServerName;
      const rules = JSON.parse(input.SelectionRules!).rules.map((r: any) => ({
        ...r, 'object-locator': { 'server-name': server, 'schema-name': String(r['object-locator']['schema-name']).toLowerCase() },
      }));
      return { TargetSelectionRules: JSON.stringify({ rules }) };
    }));
    dms.on(DescribeDataProvidersCommand).callsFake(input => this.record('DescribeDataProviders', input, [this.req('dms:ListDataProviders', '*')], () => ({
      DataProviders: providers().filter(p => input.Filters?.[0]?.Values.includes(p.DataProviderArn)),
    })));
  }

  private installSyncExecutions(sfn: ClientAnswers): void {
    sfn.on(StartSyncExecutionCommand).callsFake(input => this.record('StartSyncExecution', input,
      [this.req('states:StartSyncExecution', input.stateMachineArn!)], async () => {
        if (!this.syncExecution) throw fault('StateMachineDoesNotExist', `No state machine ${input.stateMachineArn} runs here: set syncExecution`);
        return { status: 'SUCCEEDED', output: await this.syncExecution(input.stateMachineArn!, input.input ?? '{}') };
      }));
  }

  private record<T>(command: string, input: any, requests: AuthorizedRequest[], answer: () => T): T {
    this.calls.push({ command, input, origin: this.origin, role: this.role, requests: requests.map(r => ({ ...r, origin: `${command} (${this.origin})` })) });
    this.dms.caller = this.origin;
    return answer();
  }

  private req(action: string, resource: string, context: Record<string, string | string[]> = {}): AuthorizedRequest {
    return { action, resource, context };
  }

  private taskRequests(action: string, arn: string): AuthorizedRequest[] {
    return [this.req(action, arn, dmsTags('task', this.dms.tagsOf(arn)))];
  }

  private replicationRequests(action: string, arn: string): AuthorizedRequest[] {
    return [this.req(action, arn, dmsTags('replication-config', this.dms.tagsOf(arn)))];
  }

  /** The ARN of the stack `StackName` names (its ARN or its name); every stack without one. */
  private stackArnOf(stackName: string | undefined): string {
    if (stackName === undefined) return '*';
    if (stackName.startsWith('arn:')) return stackName;
    const { partition, region, account } = this.deployed.env;
    return `arn:${partition}:cloudformation:${region}:${account}:stack/${stackName}/*`;
  }

  /**
   * The request on the secret a SecretId names, and the KMS requests Secrets Manager makes on the
   * caller's behalf when the secret is under a customer managed key.
   */
  private secretRequests(action: string, secretId: string, kmsActions: string[]): AuthorizedRequest[] {
    const found = resolveSecretId(secretId, this.secrets, this.deployed.env);
    if (!found.secret) {
      return [this.req(action, `(unresolved SecretId ${secretId})`)];
    }
    const s = found.secret;
    const requests = [this.req(action, s.arn)];
    if (s.kmsKeyArn) {
      for (const kms of kmsActions) {
        requests.push(this.req(kms, s.kmsKeyArn, {
          'kms:ViaService': `secretsmanager.${this.deployed.env.region}.amazonaws.com`,
          'kms:CallerAccount': this.deployed.env.account,
          'kms:EncryptionContext:SecretARN': s.arn,
        }));
      }
    }
    return requests;
  }

  private resolve(secretId: string): SecretRecord {
    const found = resolveSecretId(secretId, this.secrets, this.deployed.env);
    if (!found.secret) throw fault('ResourceNotFoundException', `Secrets Manager can't find the specified secret (${found.reason}).`);
    return found.secret;
  }

  private secret(arn: string): SecretRecord {
    const s = this.secrets.find(x => x.arn === arn);
    if (!s) throw new Error(`no secret ${arn}`);
    return s;
  }

  private roleArn(name: string): string {
    return `arn:${this.deployed.env.partition}:iam::${this.deployed.env.account}:role/${name}`;
  }

  /** A task as `DescribeReplicationTasks` shows it. */
  private describeTask(t: DmsTask): any {
    const load = this.dms.loadProgress(t);
    return {
      ReplicationTaskArn: t.arn,
      ReplicationTaskIdentifier: t.identifier,
      MigrationType: t.migrationType,
      ReplicationInstanceArn: t.replicationInstanceArn,
      SourceEndpointArn: t.sourceEndpointArn,
      TargetEndpointArn: t.targetEndpointArn,
      Status: t.status,
      StopReason: t.stopReason,
      LastFailureMessage: t.lastFailureMessage,
      ReplicationTaskStartDate: date(t.started),
      ReplicationTaskStats: t.started !== undefined ? {
        StartDate: date(t.started),
        StopDate: date(t.stopped),
        FullLoadFinishDate: load.done && t.migrationType !== 'cdc' ? date(t.loadDoneAt) : undefined,
        FullLoadProgressPercent: load.percent,
        TablesLoaded: load.done ? 1 : 0,
        TablesLoading: load.done ? 0 : 1,
        TablesQueued: 0,
        TablesErrored: 0,
      } : undefined,
    };
  }

  /** A replication as `DescribeReplications` shows it. */
  private describeReplication(r: DmsReplication): any {
    const load = this.dms.loadProgress(r);
    const released = r.status === 'stopped' || r.status === 'failed';
    return {
      ReplicationConfigArn: r.arn,
      ReplicationConfigIdentifier: r.identifier,
      ReplicationType: r.replicationType,
      SourceEndpointArn: r.sourceEndpointArn,
      TargetEndpointArn: r.targetEndpointArn,
      Status: r.status,
      StopReason: r.stopReason,
      ReplicationLastStopTime: date(r.stopped),
      ProvisionData: r.started !== undefined ? {
        ProvisionState: this.dms.deprovisioning(r) ? 'deprovisioning' : released ? 'deprovisioned' : 'provisioned',
      } : undefined,
      ReplicationStats: r.started !== undefined ? {
        StartDate: date(r.started),
        StopDate: date(r.stopped),
        FullLoadFinishDate: load.done && r.replicationType !== 'cdc' ? date(r.loadDoneAt) : undefined,
        FullLoadProgressPercent: load.percent,
        TablesLoaded: load.done ? 1 : 0,
        TablesLoading: load.done ? 0 : 1,
        TablesQueued: 0,
        TablesErrored: 0,
      } : undefined,
    };
  }
}

/**
 * The answers of one SDK client's stand-in: `on(Command).callsFake(answer)` as with
 * aws-sdk-client-mock, dispatched by the command's class in one fake of `send`. (Registered with
 * aws-sdk-client-mock's `on`, sinon would compare every command deeply with each registered matcher
 * before answering, which costs more than the answers themselves over a deployment of many polls.)
 * An answer that throws is a rejected request, as with aws-sdk-client-mock; a command without an
 * answer gets `undefined`.
 */
class ClientAnswers {
  private readonly answers = new Map<unknown, (input: any) => unknown>();

  constructor(private readonly stub: AwsClientStub<any>) {
    stub.send.callsFake(((command: { constructor: unknown; input: unknown }) => {
      const answer = this.answers.get(command.constructor);
      if (!answer) return undefined;
      try {
        return answer(command.input);
      } catch (e) {
        return Promise.reject(e);
      }
    }) as any);
  }

  public on(command: abstract new (...args: any[]) => { input: unknown }): { callsFake(answer: (input: any) => unknown): void } {
    return { callsFake: (answer) => { this.answers.set(command, answer); } };
  }

  public restore(): void {
    this.stub.restore();
  }
}

/**
 * The DMS resources of a template as a deployment that created them left them (tasks `ready`,
 * replication configurations `created`), under the ids the template's deployed values give them.
 */
function dmsOfTemplate(d: DeployedTemplate): DmsModel {
  const { partition, region, account } = d.env;
  const dms = new DmsModel(`arn:${partition}:dms:${region}:${account}`);
  dms.caller = 'CloudFormation';
  // only what DMS's rules read: the other properties may name attributes known only at deploy time
  const pick = (id: string, identifier: string, names: string[]) => ({
    ...Object.fromEntries(names.map(n => [n, d.property(id, n)])),
    [identifier]: d.property(id, identifier) ?? id.toLowerCase(),
  });
  for (const id of d.logicalIds('AWS::DMS::Endpoint')) dms.createEndpoint(d.ref(id), pick(id, 'EndpointIdentifier', []), d.tags(id));
  for (const id of d.logicalIds('AWS::DMS::ReplicationInstance')) {
    dms.createReplicationInstance(d.ref(id), pick(id, 'ReplicationInstanceIdentifier', []), d.tags(id));
  }
  for (const id of d.logicalIds('AWS::DMS::ReplicationTask')) {
    dms.createReplicationTask(d.ref(id), pick(id, 'ReplicationTaskIdentifier',
      ['MigrationType', 'ReplicationInstanceArn', 'SourceEndpointArn', 'TargetEndpointArn']), d.tags(id));
  }
  for (const id of d.logicalIds('AWS::DMS::ReplicationConfig')) {
    dms.createReplicationConfig(d.getAtt(id, 'ReplicationConfigArn'), pick(id, 'ReplicationConfigIdentifier',
      ['ReplicationType', 'SourceEndpointArn', 'TargetEndpointArn']), d.tags(id));
  }
  return dms;
}

function date(ms: number | undefined): Date | undefined {
  return ms === undefined ? undefined : new Date(ms);
}

/** Resource-tag request context of a DMS resource, as DMS puts it in front of IAM. */
function dmsTags(resourceType: string, tags: Record<string, string> | undefined): Record<string, string> {
  const context: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags ?? {})) {
    context[`dms:${resourceType}-tag/${key}`] = value;
    context[`aws:ResourceTag/${key}`] = value;
  }
  return context;
}

function requestTags(tags: { Key?: string; Value?: string }[] | undefined): Record<string, string | string[]> {
  const context: Record<string, string | string[]> = {};
  for (const tag of tags ?? []) {
    context[`aws:RequestTag/${tag.Key}`] = tag.Value ?? '';
  }
  if ((tags ?? []).length > 0) {
    context['aws:TagKeys'] = (tags ?? []).map(t => t.Key ?? '');
  }
  return context;
}

function fault(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

/** Stubs of the SDK clients the handlers use (each replaces a stub made before). */
function mockClients() {
  return {
    dms: new ClientAnswers(mockClient(DatabaseMigrationServiceClient)),
    sm: new ClientAnswers(mockClient(SecretsManagerClient)),
    iam: new ClientAnswers(mockClient(IAMClient)),
    cw: new ClientAnswers(mockClient(CloudWatchClient)),
    sfn: new ClientAnswers(mockClient(SFNClient)),
    cfn: new ClientAnswers(mockClient(CloudFormationClient)),
    codebuild: new ClientAnswers(mockClient(CodeBuildClient)),
    logs: new ClientAnswers(mockClient(CloudWatchLogsClient)),
  };
}
