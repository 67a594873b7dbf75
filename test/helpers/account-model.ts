import * as path from 'path';
import {
  DeleteObjectsCommand, GetBucketPolicyCommand, GetBucketTaggingCommand, GetObjectCommand, ListObjectVersionsCommand, PutBucketPolicyCommand,
  PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import type { AccountRules, PhysicalResource } from './cloudformation-model';
import type { CustomResourceHandler } from './deploy-driver';
import { DeployedTemplate } from './deployed';
import type { FakeAws } from './fake-aws';
import { IamModel } from './iam-simulation';

/**
 * The services behind a stack's native resources, as far as a stack delete depends on them: the
 * `account` of a `CloudFormationModel` (its `AccountRules`), shared by the stacks of one app. What
 * each service does follows its documentation:
 *
 * - S3 ("DeleteBucket": "All objects (including all object versions and delete markers) in the
 *   bucket must be deleted before the bucket itself can be deleted."). A bucket holds object versions
 *   (`putObject`, `deleteObject`: a versioned bucket keeps every version and adds a delete marker);
 *   deleting a bucket that holds any fails with `BucketNotEmpty`. aws-cdk-lib's auto-delete-objects
 *   handler (`Custom::S3AutoDeleteObjects`, `autoDeleteObjects`) runs for real behind the S3 client
 *   (GetBucketTagging, GetBucketPolicy, PutBucketPolicy, ListObjectVersions, DeleteObjects), each
 *   request decided by IAM's evaluation with the bucket policy as it is at that moment: once
 *   CloudFormation deleted the `AWS::S3::BucketPolicy`, the handler's role has only its own policies.
 * - KMS ("ScheduleKeyDeletion"; `AWS::KMS::Key.PendingWindowInDays`). Deleting a key schedules its
 *   deletion: it stays `PendingDeletion` for 7 to 30 days (30 by default; another value is refused).
 * - CloudWatch Logs. The stack's log groups, and the ones services create by themselves, which are
 *   no stack resource: Lambda's `/aws/lambda/<function>` (a function without a log group of its
 *   own), RDS's `/aws/rds/instance/<id>/<log>` (log exports), CodeBuild's `/aws/codebuild/<project>`,
 *   DMS Serverless's `dms-serverless-replication-<id>`.
 * - EC2 network interfaces ("DeleteSecurityGroup": a group "associated with an instance or network
 *   interface" fails with `DependencyViolation`; `AWS::Lambda::Function.VpcConfig`: CloudFormation
 *   "waits for Lambda to delete them before proceeding"). Lambda functions in a VPC, RDS instances,
 *   DMS replication instances and serverless replications, interface endpoints and NAT gateways
 *   put interfaces in their subnets, with their security groups; they go with their owner. A
 *   security group or subnet with an interface in it cannot be deleted.
 * - Names. A resource whose name the template sets (a log group's `LogGroupName`, a bucket's
 *   `BucketName`, …) cannot be created while one of that name exists, a retained one included
 *   (CloudFormation: "already exists"); generated names are new with every creation.
 * - Retention. What a DeletionPolicy keeps, and the final snapshot `Snapshot` leaves.
 *
 * `remaining()` lists what stays in the account after the stacks were deleted, each with its kind.
 */

/** What stays in the account after a stack delete. */
export interface Remaining {
  /** What kind of thing it is, as docs/teardown.md names it (`KIND`). */
  readonly kind: string;
  /** Its name or id. */
  readonly name: string;
  /** The stack and logical id of the resource it is, or of the one whose service made it. */
  readonly origin: string;
  /** For a key pending deletion: the days until KMS deletes it. */
  readonly pendingWindowInDays?: number;
}

/** The kinds of what stays, as docs/teardown.md lists them. */
export const KIND = {
  retainedLogGroup: 'log group, retained',
  lambdaLogGroup: 'log group, created by Lambda',
  rdsLogGroup: 'log group, created by RDS',
  codeBuildLogGroup: 'log group, created by CodeBuild',
  serverlessLogGroup: 'log group, created by DMS Serverless',
  retainedKey: 'KMS key, retained',
  pendingKey: 'KMS key, pending deletion',
  retainedBucket: 'S3 bucket, retained',
  snapshot: 'RDS snapshot',
  handlerRole: 'IAM role, created by a handler',
} as const;

interface ObjectVersion {
  readonly key: string;
  readonly versionId: string;
  readonly deleteMarker: boolean;
  readonly body?: Uint8Array;
}

interface Bucket {
  readonly origin: string;
  readonly versioned: boolean;
  readonly tags: Record<string, string>;
  /** The bucket policy in force (none: undefined). */
  policy?: any;
  readonly versions: ObjectVersion[];
  readonly key?: string;
  retained: boolean;
}

interface Key {
  readonly origin: string;
  state: 'Enabled' | 'PendingDeletion';
  pendingWindowInDays?: number;
  retained: boolean;
}

interface LogGroup {
  readonly origin: string;
  readonly kind: string;
  readonly key?: string;
}

interface NetworkInterface {
  readonly id: string;
  /** The resource that put it there (stack/logical id). */
  readonly owner: string;
  readonly subnet: string;
  readonly securityGroups: string[];
}

/** One request the account's S3 decided, with IAM's answer. */
export interface DecidedRequest {
  readonly role: string;
  readonly action: string;
  readonly resource: string;
  readonly allowed: boolean;
}

/** The property that names a resource: set in the template, the name is taken while it exists. */
const NAME_PROPERTIES: Record<string, string> = {
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::S3::Bucket': 'BucketName',
  'AWS::KMS::Alias': 'AliasName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::SecretsManager::Secret': 'Name',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::StepFunctions::StateMachine': 'StateMachineName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::CodeBuild::Project': 'Name',
};

/** A security group or subnet is kept in use by these resources' network interfaces. */
const INTERFACE_OWNERS = new Set([
  'AWS::Lambda::Function', 'AWS::RDS::DBInstance', 'AWS::DMS::ReplicationInstance', 'AWS::DMS::ReplicationConfig',
  'AWS::EC2::VPCEndpoint', 'AWS::EC2::NatGateway',
]);

export class AccountModel implements AccountRules {
  /** Every S3 request the handlers made, decided by IAM. */
  public readonly requests: DecidedRequest[] = [];
  /**
   * What services write into the stack's buckets while the deployment runs (an assessment report
   * DMS Schema Conversion exports): a handler asking for an object the bucket does not hold yet
   * finds it there when this answers it.
   */
  public serviceWrites?: (bucket: string, key: string) => Uint8Array | undefined;
  private readonly buckets = new Map<string, Bucket>();
  private readonly keys = new Map<string, Key>();
  private readonly logGroups = new Map<string, LogGroup>();
  private readonly interfaces: NetworkInterface[] = [];
  private readonly snapshots: Remaining[] = [];
  private readonly retainedOthers: Remaining[] = [];
  /** Names the template set, taken while their resource exists: `<type> <name>` → origin. */
  private readonly names = new Map<string, string>();
  private readonly fakes: FakeAws[] = [];
  private fake?: FakeAws;
  private s3?: AwsClientStub<S3Client>;
  /** The stack whose auto-delete handler runs now (its template as deployed). */
  private caller?: DeployedTemplate;
  /** The stack the model operates on now (the last one that created, deleted or retained a resource). */
  private current?: DeployedTemplate;

  // ---- AccountRules

  public attached(fake: FakeAws): void {
    // IAM roles belong to the account: a stack deployed later finds the ones handlers created before
    for (const earlier of this.fakes) {
      for (const [name, role] of earlier.roles) fake.roles.set(name, role);
    }
    this.fake = fake;
    this.fakes.push(fake);
    if (!this.s3) {
      this.s3 = mockClient(S3Client);
      this.installS3(this.s3);
    }
  }

  public created(view: DeployedTemplate, r: PhysicalResource): void {
    this.current = view;
    const origin = originOf(view, r.logicalId);
    const p = r.properties;
    this.takeName(r, origin);
    switch (r.type) {
      case 'AWS::S3::Bucket': {
        const sse = p.BucketEncryption?.ServerSideEncryptionConfiguration?.[0]?.ServerSideEncryptionByDefault;
        this.buckets.set(r.physicalId, {
          origin,
          versioned: p.VersioningConfiguration?.Status === 'Enabled',
          tags: tagMap(p.Tags),
          versions: [],
          key: sse?.KMSMasterKeyID,
          retained: false,
        });
        break;
      }
      case 'AWS::S3::BucketPolicy': {
        const bucket = this.buckets.get(p.Bucket);
        if (bucket) bucket.policy = p.PolicyDocument;
        break;
      }
      case 'AWS::KMS::Key':
        this.keys.set(r.physicalId, { origin, state: 'Enabled', retained: false });
        break;
      case 'AWS::Logs::LogGroup':
        this.logGroups.set(r.physicalId, { origin, kind: KIND.retainedLogGroup, key: p.KmsKeyId });
        break;
      case 'AWS::Lambda::Function':
        if (!p.LoggingConfig?.LogGroup) this.serviceLogGroup(`/aws/lambda/${r.physicalId}`, KIND.lambdaLogGroup, origin);
        this.addInterfaces(origin, p.VpcConfig?.SubnetIds, p.VpcConfig?.SecurityGroupIds);
        break;
      case 'AWS::RDS::DBInstance':
        for (const log of p.EnableCloudwatchLogsExports ?? []) {
          this.serviceLogGroup(`/aws/rds/instance/${r.physicalId}/${log}`, KIND.rdsLogGroup, origin);
        }
        this.addInterfaces(origin, subnetsOfGroup(view, 'AWS::RDS::DBSubnetGroup', p.DBSubnetGroupName), p.VPCSecurityGroups);
        break;
      case 'AWS::DMS::ReplicationInstance':
        this.addInterfaces(origin, subnetsOfGroup(view, 'AWS::DMS::ReplicationSubnetGroup', p.ReplicationSubnetGroupIdentifier), p.VpcSecurityGroupIds);
        break;
      case 'AWS::DMS::ReplicationConfig':
        // DMS creates it when the replication first starts, named after the configuration's resource id
        this.serviceLogGroup(`dms-serverless-replication-${r.physicalId.split(':').pop()}`, KIND.serverlessLogGroup, origin);
        this.addInterfaces(origin, subnetsOfGroup(view, 'AWS::DMS::ReplicationSubnetGroup', p.ComputeConfig?.ReplicationSubnetGroupId),
          p.ComputeConfig?.VpcSecurityGroupIds);
        break;
      case 'AWS::EC2::VPCEndpoint':
        if (p.VpcEndpointType === 'Interface') this.addInterfaces(origin, p.SubnetIds, p.SecurityGroupIds);
        break;
      case 'AWS::EC2::NatGateway':
        this.addInterfaces(origin, [p.SubnetId], []);
        break;
      case 'AWS::CodeBuild::Project': {
        const logs = p.LogsConfig?.CloudWatchLogs;
        if (logs?.Status !== 'DISABLED' && !logs?.GroupName) this.serviceLogGroup(`/aws/codebuild/${r.physicalId}`, KIND.codeBuildLogGroup, origin);
        break;
      }
      default:
        break;
    }
  }

  public deleting(view: DeployedTemplate, r: PhysicalResource, policy: string | undefined): void {
    this.current = view;
    const origin = originOf(view, r.logicalId);
    switch (r.type) {
      case 'AWS::S3::Bucket': {
        const bucket = this.buckets.get(r.physicalId);
        if (bucket && bucket.versions.length > 0) {
          throw serviceError('BucketNotEmpty', bucket.versioned
            ? `The bucket you tried to delete is not empty. You must delete all versions in the bucket. (${r.physicalId}: ${bucket.versions.length} object versions and delete markers)`
            : `The bucket you tried to delete is not empty (${r.physicalId})`);
        }
        this.buckets.delete(r.physicalId);
        break;
      }
      case 'AWS::S3::BucketPolicy': {
        const bucket = this.buckets.get(r.properties.Bucket);
        if (bucket) bucket.policy = undefined;
        break;
      }
      case 'AWS::KMS::Key': {
        const days = Number(r.properties.PendingWindowInDays ?? 30);
        if (!Number.isInteger(days) || days < 7 || days > 30) {
          throw serviceError('ValidationException', `PendingWindowInDays ${days} of ${r.physicalId} is not an integer from 7 to 30`);
        }
        const key = this.keys.get(r.physicalId);
        if (key) Object.assign(key, { state: 'PendingDeletion', pendingWindowInDays: days });
        break;
      }
      case 'AWS::Logs::LogGroup':
        this.logGroups.delete(r.physicalId);
        break;
      case 'AWS::EC2::SecurityGroup': {
        const using = this.interfaces.filter(i => i.securityGroups.includes(r.physicalId));
        if (using.length > 0) {
          throw serviceError('DependencyViolation', `resource ${r.physicalId} has a dependent object (network interfaces of ${[...new Set(using.map(i => i.owner))].join(', ')})`);
        }
        break;
      }
      case 'AWS::EC2::Subnet': {
        const using = this.interfaces.filter(i => i.subnet === r.physicalId);
        if (using.length > 0) {
          throw serviceError('DependencyViolation', `The subnet '${r.physicalId}' has dependencies and cannot be deleted (network interfaces of ${[...new Set(using.map(i => i.owner))].join(', ')})`);
        }
        break;
      }
      case 'AWS::RDS::DBInstance':
      case 'AWS::RDS::DBCluster':
        if (policy === 'Snapshot') this.snapshots.push({ kind: KIND.snapshot, name: `${r.physicalId}-final-snapshot`, origin });
        break;
      default:
        break;
    }
    if (INTERFACE_OWNERS.has(r.type)) {
      // the owner's service deletes them; CloudFormation waits for Lambda's before it goes on
      for (let i = this.interfaces.length - 1; i >= 0; i--) {
        if (this.interfaces[i].owner === origin) this.interfaces.splice(i, 1);
      }
    }
    this.names.delete(nameKey(r) ?? '');
  }

  public retained(view: DeployedTemplate, r: PhysicalResource): void {
    this.current = view;
    switch (r.type) {
      case 'AWS::S3::Bucket':
        this.buckets.get(r.physicalId)!.retained = true;
        break;
      case 'AWS::KMS::Key':
        this.keys.get(r.physicalId)!.retained = true;
        break;
      case 'AWS::Logs::LogGroup':
        break;
      default:
        this.retainedOthers.push({ kind: `${r.type}, retained`, name: r.physicalId, origin: originOf(view, r.logicalId) });
    }
  }

  // ---- what the deployments did

  /** Puts an object: a new version in a versioned bucket, the only one otherwise. */
  public putObject(bucketName: string, key: string, body?: Uint8Array): void {
    const bucket = this.bucket(bucketName);
    if (!bucket.versioned) this.removeVersions(bucket, v => v.key === key);
    bucket.versions.push({ key, versionId: bucket.versioned ? `v${bucket.versions.length + 1}` : 'null', deleteMarker: false, body });
  }

  /** Deletes an object without naming a version: a versioned bucket keeps its versions and adds a delete marker. */
  public deleteObject(bucketName: string, key: string): void {
    const bucket = this.bucket(bucketName);
    if (bucket.versioned) {
      bucket.versions.push({ key, versionId: `v${bucket.versions.length + 1}`, deleteMarker: true });
    } else {
      this.removeVersions(bucket, v => v.key === key);
    }
  }

  /** The buckets in the account now, by name. */
  public bucketNames(): string[] {
    return [...this.buckets.keys()];
  }

  /** Object versions and delete markers a bucket holds. */
  public objectVersions(bucketName: string): number {
    return this.bucket(bucketName).versions.length;
  }

  /** The network interfaces in the account, by owner. */
  public networkInterfaces(): { owner: string; subnet: string; securityGroups: string[] }[] {
    return this.interfaces.map(({ owner, subnet, securityGroups }) => ({ owner, subnet, securityGroups }));
  }

  /**
   * aws-cdk-lib's auto-delete-objects handler, as its provider function runs it: the real code,
   * calling this account's S3 as the function's role, for the stack `view` answers.
   */
  public autoDeleteObjects(view: () => DeployedTemplate): CustomResourceHandler {
    return async (event) => {
      this.caller = view();
      try {
        const result = await autoDeleteHandler()(event);
        return { PhysicalResourceId: result?.PhysicalResourceId ?? event.PhysicalResourceId };
      } finally {
        this.caller = undefined;
      }
    };
  }

  // ---- after the stacks were deleted

  /** What stays in the account: every log group, key, bucket, snapshot and retained resource, and the roles the handlers created. */
  public remaining(): Remaining[] {
    const found: Remaining[] = [];
    for (const [name, group] of this.logGroups) found.push({ kind: group.kind, name, origin: group.origin });
    for (const [id, key] of this.keys) {
      found.push(key.state === 'PendingDeletion'
        ? { kind: KIND.pendingKey, name: id, origin: key.origin, pendingWindowInDays: key.pendingWindowInDays }
        : { kind: KIND.retainedKey, name: id, origin: key.origin });
    }
    for (const [name, bucket] of this.buckets) found.push({ kind: KIND.retainedBucket, name, origin: bucket.origin });
    found.push(...this.snapshots, ...this.retainedOthers);
    for (const fake of this.fakes) {
      for (const role of fake.roles.keys()) {
        const creator = this.fakes.flatMap(f => f.calls).find(c => c.command === 'CreateRole' && c.input.RoleName === role);
        found.push({ kind: KIND.handlerRole, name: role, origin: creator?.origin ?? 'outside the stacks' });
      }
    }
    return uniqueBy(found, r => `${r.kind} ${r.name}`);
  }

  /**
   * What stays encrypted with a key that is pending deletion: unreadable once the key is deleted
   * (KMS: "all data that was encrypted under the KMS key is unrecoverable").
   */
  public unreadable(): string[] {
    const pending = [...this.keys].filter(([, k]) => k.state === 'PendingDeletion').map(([id]) => id);
    const byPendingKey = (key?: string) => key !== undefined && pending.some(id => key === id || key.endsWith(`:key/${id}`));
    return [
      ...[...this.logGroups].filter(([, g]) => byPendingKey(g.key)).map(([name, g]) => `log group ${name} (${g.origin}) under key ${g.key}`),
      ...[...this.buckets].filter(([, b]) => byPendingKey(b.key)).map(([name, b]) => `bucket ${name} (${b.origin}) under key ${b.key}`),
    ];
  }

  /**
   * The resources of a template whose names are taken in the account (by retained resources of an
   * earlier deployment, say): a deployment of it fails on each with `already exists`.
   */
  public takenNames(view: DeployedTemplate): string[] {
    return view.logicalIds().filter(id => {
      const r = view.resource(id);
      const property = NAME_PROPERTIES[r.Type];
      return property !== undefined && r.Properties?.[property] !== undefined && this.names.has(`${r.Type} ${view.ref(id)}`);
    }).map(id => `${id} (${view.resource(id).Type} ${view.ref(id)})`);
  }

  /** Restores the S3 client the account stood in for. */
  public restore(): void {
    this.s3?.restore();
    this.s3 = undefined;
  }

  // ---------------------------------------------------------------------------------------------

  private takeName(r: PhysicalResource, origin: string): void {
    const key = nameKey(r);
    if (key === undefined) return;
    const holder = this.names.get(key);
    if (holder !== undefined) {
      throw serviceError('AlreadyExists', `Resource of type '${r.type}' with identifier '${r.physicalId}' already exists. (kept from ${holder})`);
    }
    this.names.set(key, origin);
  }

  private serviceLogGroup(name: string, kind: string, origin: string): void {
    if (!this.logGroups.has(name)) this.logGroups.set(name, { origin, kind });
  }

  private addInterfaces(owner: string, subnets: unknown, securityGroups: unknown): void {
    const groups = Array.isArray(securityGroups) ? securityGroups.map(String) : [];
    for (const subnet of Array.isArray(subnets) ? subnets : []) {
      this.interfaces.push({ id: `eni-${this.interfaces.length + 1}`, owner, subnet: String(subnet), securityGroups: groups });
    }
  }

  private bucket(name: string): Bucket {
    const bucket = this.buckets.get(name);
    if (!bucket) throw serviceError('NoSuchBucket', `The specified bucket does not exist (${name})`);
    return bucket;
  }

  private removeVersions(bucket: Bucket, match: (v: ObjectVersion) => boolean): void {
    for (let i = bucket.versions.length - 1; i >= 0; i--) {
      if (match(bucket.versions[i])) bucket.versions.splice(i, 1);
    }
  }

  /** Decides an S3 request of the running handler's role with the bucket's policy in force; AccessDenied when IAM denies it. */
  private async authorize(bucket: Bucket, action: string, resource: string): Promise<boolean> {
    const view = this.caller ?? this.current;
    const role = this.fake?.role;
    if (!view || !role) throw new Error(`${action} on ${resource}: no handler of the model is running`);
    const decision = await IamModel.of(view).decideFor({ role }, { action, resource, origin: this.fake!.origin },
      { resourcePolicy: bucket.policy ?? 'none' });
    this.requests.push({ role, action, resource, allowed: decision.allowed });
    return decision.allowed;
  }

  private async request(bucketName: string, action: string, resource?: string): Promise<Bucket> {
    const bucket = this.bucket(bucketName);
    const arn = `arn:aws:s3:::${bucketName}${resource === undefined ? '' : `/${resource}`}`;
    if (!await this.authorize(bucket, action, arn)) {
      throw serviceError('AccessDenied', `User: ${(this.caller ?? this.current)!.getAtt(this.fake!.role, 'Arn')} is not authorized to perform: ${action} on resource: "${arn}" because no identity-based policy or resource-based policy allows the ${action} action`);
    }
    return bucket;
  }

  private installS3(s3: AwsClientStub<S3Client>): void {
    s3.onAnyCommand().callsFake(() => {
      throw new Error('this S3 request is not modelled');
    });
    s3.on(GetBucketTaggingCommand).callsFake(async (input) => {
      const bucket = await this.request(input.Bucket!, 's3:GetBucketTagging');
      if (Object.keys(bucket.tags).length === 0) throw serviceError('NoSuchTagSet', 'The TagSet does not exist');
      return { TagSet: Object.entries(bucket.tags).map(([Key, Value]) => ({ Key, Value })) };
    });
    s3.on(GetBucketPolicyCommand).callsFake(async (input) => {
      const bucket = await this.request(input.Bucket!, 's3:GetBucketPolicy');
      if (!bucket.policy) throw serviceError('NoSuchBucketPolicy', 'The bucket policy does not exist');
      return { Policy: JSON.stringify(bucket.policy) };
    });
    s3.on(PutBucketPolicyCommand).callsFake(async (input) => {
      const bucket = await this.request(input.Bucket!, 's3:PutBucketPolicy');
      bucket.policy = JSON.parse(input.Policy!);
      return {};
    });
    s3.on(ListObjectVersionsCommand).callsFake(async (input) => {
      const bucket = await this.request(input.Bucket!, 's3:ListBucketVersions');
      const page = bucket.versions.slice(0, 1000);
      const entry = (v: ObjectVersion) => ({ Key: v.key, VersionId: v.versionId });
      return {
        Versions: page.filter(v => !v.deleteMarker).map(entry),
        DeleteMarkers: page.filter(v => v.deleteMarker).map(entry),
        IsTruncated: bucket.versions.length > page.length,
      };
    });
    s3.on(GetObjectCommand).callsFake(async (input) => {
      const bucket = await this.request(input.Bucket!, 's3:GetObject', input.Key!);
      const latest = () => [...bucket.versions].reverse().find(v => v.key === input.Key);
      if (latest() === undefined) {
        const written = this.serviceWrites?.(input.Bucket!, input.Key!);
        if (written !== undefined) this.putObject(input.Bucket!, input.Key!, written);
      }
      const version = latest();
      if (version === undefined || version.deleteMarker) throw serviceError('NoSuchKey', 'The specified key does not exist.');
      const body = version.body ?? new Uint8Array();
      return { Body: { transformToByteArray: async () => body } as any, VersionId: version.versionId };
    });
    s3.on(PutObjectCommand).callsFake(async (input) => {
      await this.request(input.Bucket!, 's3:PutObject', input.Key!);
      this.putObject(input.Bucket!, input.Key!, typeof input.Body === 'string' ? Buffer.from(input.Body) : input.Body as Uint8Array);
      return {};
    });
    s3.on(DeleteObjectsCommand).callsFake(async (input) => {
      const bucket = this.bucket(input.Bucket!);
      const deleted: { Key: string; VersionId?: string }[] = [];
      const errors: { Key: string; VersionId?: string; Code: string }[] = [];
      // S3 answers each object: a denied one is listed in Errors, the request itself succeeds
      for (const object of input.Delete?.Objects ?? []) {
        const action = object.VersionId ? 's3:DeleteObjectVersion' : 's3:DeleteObject';
        if (await this.authorize(bucket, action, `arn:aws:s3:::${input.Bucket}/${object.Key}`)) {
          this.removeVersions(bucket, v => v.key === object.Key && v.versionId === object.VersionId);
          deleted.push({ Key: object.Key!, VersionId: object.VersionId });
        } else {
          errors.push({ Key: object.Key!, VersionId: object.VersionId, Code: 'AccessDenied' });
        }
      }
      return { Deleted: deleted, Errors: errors };
    });
  }
}

/** aws-cdk-lib's own handler module (custom-resource-handlers/dist/aws-s3/auto-delete-objects-handler). */
function autoDeleteHandler(): (event: unknown) => Promise<{ PhysicalResourceId?: string } | undefined> {
  const file = path.join(path.dirname(require.resolve('aws-cdk-lib/package.json')),
    'custom-resource-handlers', 'dist', 'aws-s3', 'auto-delete-objects-handler', 'index.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(file) as { autoDeleteHandler: (event: unknown) => Promise<{ PhysicalResourceId?: string } | undefined> }).autoDeleteHandler;
}

function originOf(view: DeployedTemplate, logicalId: string): string {
  return `${view.env.stackName}/${logicalId}`;
}

function nameKey(r: PhysicalResource): string | undefined {
  const property = NAME_PROPERTIES[r.type];
  return property !== undefined && (r.template.Properties ?? {})[property] !== undefined ? `${r.type} ${r.physicalId}` : undefined;
}

/** The subnets of the subnet group of the stack whose name or id is `name`. */
function subnetsOfGroup(view: DeployedTemplate, type: string, name: unknown): string[] {
  if (name === undefined) return [];
  const id = view.logicalIds(type).find(g => view.ref(g) === String(name));
  return id === undefined ? [] : (view.property(id, 'SubnetIds') ?? []).map(String);
}

function tagMap(tags: unknown): Record<string, string> {
  if (Array.isArray(tags)) return Object.fromEntries(tags.map((t: { Key: string; Value: string }) => [t.Key, t.Value]));
  return tags && typeof tags === 'object' ? tags as Record<string, string> : {};
}

function serviceError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

function uniqueBy<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter(i => (seen.has(key(i)) ? false : (seen.add(key(i)), true)));
}
