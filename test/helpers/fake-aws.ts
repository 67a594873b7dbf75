import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DatabaseMigrationServiceClient,
  DescribeConnectionsCommand,
  DescribeReplicationsCommand,
  DescribeReplicationTasksCommand,
  DescribeTableStatisticsCommand,
  StartReplicationCommand,
  StartReplicationTaskCommand,
  StopReplicationCommand,
  StopReplicationTaskCommand,
  TestConnectionCommand,
} from '@aws-sdk/client-database-migration-service';
import { AttachRolePolicyCommand, CreateRoleCommand, GetRoleCommand, IAMClient, TagRoleCommand } from '@aws-sdk/client-iam';
import { DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { DeployedTemplate, secretSuffix } from './deployed';
import { AuthorizedRequest, IamModel } from './iam-simulation';
import { SecretRecord, resolveSecretId } from './secrets-manager-model';

/**
 * An AWS account as the handlers see it during a deployment, behind the SDK clients they use
 * (aws-sdk-client-mock): DMS tasks, endpoints, instances and serverless replications as
 * CloudFormation created them from the template (with their tags), Secrets Manager secrets that
 * resolve `SecretId` by Secrets Manager's own rules, IAM roles, CloudWatch. DMS moves a started
 * task through its states on later polls.
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

interface FakeTask {
  arn: string;
  identifier: string;
  migrationType: string;
  status: string;
  stopReason?: string;
  polls: number;
  started?: Date;
  tags: Record<string, string>;
}

interface FakeReplication {
  arn: string;
  identifier: string;
  replicationType: string;
  status: string;
  stopReason?: string;
  polls: number;
  started?: Date;
  tags: Record<string, string>;
}

export class FakeAws {
  public readonly calls: RecordedCall[] = [];
  public readonly secrets: SecretRecord[] = [];
  public readonly roles = new Map<string, { tags: { Key: string; Value: string }[]; policies: string[] }>();
  /** Step Functions executions started, by name. */
  public readonly executions = new Map<string, { stateMachineArn: string; input: any }>();
  public origin = '(no custom resource)';
  /** Logical id of the role of the function running now. */
  public role = '';

  private readonly tasks = new Map<string, FakeTask>();
  private readonly replications = new Map<string, FakeReplication>();
  private readonly endpointTags = new Map<string, Record<string, string>>();
  private readonly instanceTags = new Map<string, Record<string, string>>();
  private readonly connections = new Map<string, { status: string; polls: number }>();
  private readonly mocks: {
    dms: AwsClientStub<DatabaseMigrationServiceClient>;
    sm: AwsClientStub<SecretsManagerClient>;
    iam: AwsClientStub<IAMClient>;
    cw: AwsClientStub<CloudWatchClient>;
    sfn: AwsClientStub<SFNClient>;
  };

  constructor(private readonly deployed: DeployedTemplate) {
    const d = deployed;
    for (const id of d.logicalIds('AWS::DMS::ReplicationTask')) {
      this.tasks.set(d.ref(id), {
        arn: d.ref(id),
        identifier: String(d.property(id, 'ReplicationTaskIdentifier')).toLowerCase(),
        migrationType: d.property(id, 'MigrationType'),
        status: 'ready',
        polls: 0,
        tags: d.tags(id),
      });
    }
    for (const id of d.logicalIds('AWS::DMS::ReplicationConfig')) {
      const arn = d.getAtt(id, 'ReplicationConfigArn');
      this.replications.set(arn, {
        arn,
        identifier: String(d.property(id, 'ReplicationConfigIdentifier')).toLowerCase(),
        replicationType: d.property(id, 'ReplicationType'),
        status: 'created',
        polls: 0,
        tags: d.tags(id),
      });
    }
    for (const id of d.logicalIds('AWS::DMS::Endpoint')) this.endpointTags.set(d.ref(id), d.tags(id));
    for (const id of d.logicalIds('AWS::DMS::ReplicationInstance')) this.instanceTags.set(d.ref(id), d.tags(id));
    for (const id of d.logicalIds('AWS::SecretsManager::Secret')) {
      const arn = d.ref(id);
      const kmsKeyId = d.property(id, 'KmsKeyId');
      this.secrets.push({ arn, name: arn.split(':secret:')[1].slice(0, -7), value: 'generated', kmsKeyArn: kmsKeyId ? IamModel.of(d).keyArn(kmsKeyId) : undefined });
    }
    this.mocks = {
      dms: mockClient(DatabaseMigrationServiceClient),
      sm: mockClient(SecretsManagerClient),
      iam: mockClient(IAMClient),
      cw: mockClient(CloudWatchClient),
      sfn: mockClient(SFNClient),
    };
    this.install();
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
  }

  private install(): void {
    const { dms, sm, iam, cw, sfn } = this.mocks;
    dms.on(DescribeReplicationTasksCommand).callsFake(input => this.record('DescribeReplicationTasks', input, [this.req('dms:DescribeReplicationTasks', '*')], () => {
      const filter = input.Filters?.[0];
      const found = [...this.tasks.values()].filter(t => filter?.Name === 'replication-task-arn' ? filter.Values.includes(t.arn) : filter?.Values.includes(t.identifier));
      if (found.length === 0) throw fault('ResourceNotFoundFault', 'No tasks found');
      return { ReplicationTasks: found.map(t => this.describeTask(t)) };
    }));
    dms.on(StartReplicationTaskCommand).callsFake(input => this.record('StartReplicationTask', input, this.taskRequests('dms:StartReplicationTask', input.ReplicationTaskArn), () => {
      const t = this.task(input.ReplicationTaskArn);
      Object.assign(t, { status: 'starting', polls: 0, stopReason: undefined, started: new Date(Date.now()) });
      return { ReplicationTask: this.describeTask(t) };
    }));
    dms.on(StopReplicationTaskCommand).callsFake(input => this.record('StopReplicationTask', input, this.taskRequests('dms:StopReplicationTask', input.ReplicationTaskArn), () => {
      const t = this.task(input.ReplicationTaskArn);
      Object.assign(t, { status: 'stopped', stopReason: 'Stop Reason STOPPED_BY_USER' });
      return { ReplicationTask: this.describeTask(t) };
    }));
    dms.on(DescribeTableStatisticsCommand).callsFake(input => this.record('DescribeTableStatistics', input, this.taskRequests('dms:DescribeTableStatistics', input.ReplicationTaskArn), () => ({
      TableStatistics: [{ SchemaName: 'app', TableName: 't', TableState: 'Table completed', ValidationState: 'Validated', FullLoadRows: 10 }],
    })));
    dms.on(TestConnectionCommand).callsFake(input => this.record('TestConnection', input, [
      this.req('dms:TestConnection', input.EndpointArn, dmsTags('endpoint', this.endpointTags.get(input.EndpointArn))),
      this.req('dms:TestConnection', input.ReplicationInstanceArn, dmsTags('rep', this.instanceTags.get(input.ReplicationInstanceArn))),
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
      const found = [...this.replications.values()].filter(r => filter?.Name === 'replication-config-arn' ? filter.Values.includes(r.arn) : filter?.Values.includes(r.identifier));
      return { Replications: found.map(r => this.describeReplication(r)) };
    }));
    dms.on(StartReplicationCommand).callsFake(input => this.record('StartReplication', input, this.replicationRequests('dms:StartReplication', input.ReplicationConfigArn), () => {
      const r = this.replication(input.ReplicationConfigArn);
      Object.assign(r, { status: 'initializing', polls: 0, stopReason: undefined, started: new Date(Date.now()) });
      return { Replication: this.describeReplication(r) };
    }));
    dms.on(StopReplicationCommand).callsFake(input => this.record('StopReplication', input, this.replicationRequests('dms:StopReplication', input.ReplicationConfigArn), () => {
      const r = this.replication(input.ReplicationConfigArn);
      Object.assign(r, { status: 'stopped', stopReason: 'Stop Reason STOPPED_BY_USER' });
      return { Replication: this.describeReplication(r) };
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
      this.executions.set(input.name!, { stateMachineArn: input.stateMachineArn!, input: input.input });
      return { executionArn: `${input.stateMachineArn!.replace(':stateMachine:', ':execution:')}:${input.name}`, startDate: new Date() };
    }));
  }

  private record<T>(command: string, input: any, requests: AuthorizedRequest[], answer: () => T): T {
    this.calls.push({ command, input, origin: this.origin, role: this.role, requests: requests.map(r => ({ ...r, origin: `${command} (${this.origin})` })) });
    return answer();
  }

  private req(action: string, resource: string, context: Record<string, string | string[]> = {}): AuthorizedRequest {
    return { action, resource, context };
  }

  private taskRequests(action: string, arn: string): AuthorizedRequest[] {
    return [this.req(action, arn, dmsTags('task', this.tasks.get(arn)?.tags))];
  }

  private replicationRequests(action: string, arn: string): AuthorizedRequest[] {
    return [this.req(action, arn, dmsTags('replication-config', this.replications.get(arn)?.tags))];
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

  private task(arn: string): FakeTask {
    const t = this.tasks.get(arn);
    if (!t) throw fault('ResourceNotFoundFault', `task ${arn} not found`);
    return t;
  }

  private replication(arn: string): FakeReplication {
    const r = this.replications.get(arn);
    if (!r) throw fault('ResourceNotFoundFault', `replication ${arn} not found`);
    return r;
  }

  /** A started task runs on the next poll; a full-load task finishes on the one after. */
  private describeTask(t: FakeTask): any {
    if (t.status === 'starting' || t.status === 'running') {
      t.polls++;
      if (t.polls >= 1) t.status = 'running';
      if (t.polls >= 3 && t.migrationType === 'full-load') {
        t.status = 'stopped';
        t.stopReason = 'Stop Reason FULL_LOAD_ONLY_FINISHED';
      }
    }
    const done = t.status === 'stopped' || t.polls >= 2;
    return {
      ReplicationTaskArn: t.arn,
      ReplicationTaskIdentifier: t.identifier,
      MigrationType: t.migrationType,
      Status: t.status,
      StopReason: t.stopReason,
      ReplicationTaskStartDate: t.started,
      ReplicationTaskStats: t.started ? {
        StartDate: t.started,
        StopDate: t.status === 'stopped' ? new Date(Date.now()) : undefined,
        FullLoadProgressPercent: done ? 100 : 50,
        TablesLoaded: done ? 1 : 0,
        TablesLoading: done ? 0 : 1,
        TablesQueued: 0,
        TablesErrored: 0,
      } : undefined,
    };
  }

  private describeReplication(r: FakeReplication): any {
    if (r.status !== 'created' && r.status !== 'stopped' && r.status !== 'failed') {
      r.polls++;
      if (r.polls >= 1) r.status = 'running';
      if (r.polls >= 3 && r.replicationType === 'full-load') {
        r.status = 'stopped';
        r.stopReason = 'Stop Reason FULL_LOAD_ONLY_FINISHED';
      }
    }
    const done = r.status === 'stopped' || r.polls >= 2;
    return {
      ReplicationConfigArn: r.arn,
      ReplicationConfigIdentifier: r.identifier,
      ReplicationType: r.replicationType,
      Status: r.status,
      StopReason: r.stopReason,
      ReplicationStats: r.started ? {
        StartDate: r.started,
        StopDate: r.status === 'stopped' ? new Date(Date.now()) : undefined,
        FullLoadProgressPercent: done ? 100 : 50,
        TablesLoaded: done ? 1 : 0,
        TablesLoading: done ? 0 : 1,
        TablesQueued: 0,
        TablesErrored: 0,
      } : undefined,
    };
  }
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
