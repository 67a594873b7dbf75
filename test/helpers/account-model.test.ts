import { App, CfnDeletionPolicy, CfnElement, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AccountModel, KIND } from './account-model';
import { CloudFormationModel, addFailingResource } from './cloudformation-model';
import { TemplateJson } from './deployed';

/*
 * The account behind the CloudFormation model (account-model.ts): each service's rule that a stack
 * delete depends on, checked on the smallest stack that shows it, both ways — the delete AWS lets
 * complete, and the one it refuses.
 */

const models: CloudFormationModel[] = [];
const accounts: AccountModel[] = [];

beforeEach(() => {
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});

afterEach(() => {
  models.splice(0).forEach(m => m.restore());
  accounts.splice(0).forEach(a => a.restore());
  jest.restoreAllMocks();
});

function newAccount(): AccountModel {
  const account = new AccountModel();
  accounts.push(account);
  return account;
}

function template(stack: Stack): TemplateJson {
  return Template.fromStack(stack).toJSON() as TemplateJson;
}

/** A model of `stack` in `account`, aws-cdk-lib's auto-delete-objects handler running for real. */
function modelOf(stack: Stack, account: AccountModel): CloudFormationModel {
  const model: CloudFormationModel = new CloudFormationModel({
    env: { stackName: stack.stackName },
    account,
    handlers: { 'Custom::S3AutoDeleteObjects': account.autoDeleteObjects(() => model.deployed()) },
  });
  models.push(model);
  return model;
}

/** The stack adopted as deployed, `fill` run on the account, then deleted. */
async function destroyed(stack: Stack, fill: (account: AccountModel) => void = () => undefined, json: TemplateJson = template(stack)) {
  const account = newAccount();
  const model = modelOf(stack, account);
  await model.adopt(json);
  fill(account);
  const outcome = await model.delete();
  return { account, model, outcome, failure: outcome.rollbackFailure ? `${outcome.rollbackFailure.logicalId}: ${outcome.rollbackFailure.reason}` : undefined };
}

function logicalId(stack: Stack, construct: { readonly node: { readonly defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

describe('S3: a bucket is deleted only once it holds no object version and no delete marker', () => {
  function bucketStack(props: s3.BucketProps): { stack: Stack; bucket: s3.Bucket } {
    const stack = new Stack(new App(), 'Buckets');
    const bucket = new s3.Bucket(stack, 'Bucket', { versioned: true, removalPolicy: RemovalPolicy.DESTROY, ...props });
    return { stack, bucket };
  }

  /** Two versions of an object and its delete marker, as a report written twice and deleted leaves them. */
  function writeAndDelete(account: AccountModel): void {
    const [name] = account.bucketNames();
    account.putObject(name, 'report.json');
    account.putObject(name, 'report.json');
    account.deleteObject(name, 'report.json');
  }

  test('a versioned bucket removed with the stack, never emptied: S3 refuses to delete it, the stack ends DELETE_FAILED', async () => {
    const { stack, bucket } = bucketStack({});
    const { outcome, failure, account } = await destroyed(stack, writeAndDelete);
    expect(outcome.status).toBe('DELETE_FAILED');
    expect(failure).toMatch(new RegExp(`^${logicalId(stack, bucket)}: BucketNotEmpty: The bucket you tried to delete is not empty\\. You must delete all versions in the bucket\\.`));
    expect(account.objectVersions(account.bucketNames()[0])).toBe(3);
  });

  test('a delete marker alone keeps a versioned bucket; an empty bucket is deleted', async () => {
    const marker = await destroyed(bucketStack({}).stack, a => a.deleteObject(a.bucketNames()[0], 'gone.json'));
    expect(marker.failure).toMatch(/BucketNotEmpty/);
    const empty = await destroyed(bucketStack({}).stack);
    expect(empty.outcome.status).toBe('DELETE_COMPLETE');
    expect(empty.account.bucketNames()).toEqual([]);
  });

  test('autoDeleteObjects: aws-cdk-lib\'s handler removes every version and marker while the bucket policy admits its role, then the bucket goes', async () => {
    const { stack } = bucketStack({ autoDeleteObjects: true });
    const { outcome, account, model } = await destroyed(stack, writeAndDelete);
    expect(outcome.status).toBe('DELETE_COMPLETE');
    expect(account.bucketNames()).toEqual([]);
    const order = model.events.filter(e => e.status === 'DELETE_COMPLETE').map(e => e.type);
    expect(order.indexOf('Custom::S3AutoDeleteObjects')).toBeLessThan(order.indexOf('AWS::S3::BucketPolicy'));
    expect(order.indexOf('AWS::S3::BucketPolicy')).toBeLessThan(order.indexOf('AWS::S3::Bucket'));
    expect(account.requests.map(r => `${r.action} ${r.allowed}`)).toEqual([
      's3:GetBucketTagging true', 's3:GetBucketPolicy true', 's3:PutBucketPolicy true', 's3:ListBucketVersions true',
      's3:DeleteObjectVersion true', 's3:DeleteObjectVersion true', 's3:DeleteObjectVersion true',
    ]);
  });

  test('the emptying ordered after the bucket policy\'s delete: the handler\'s role alone may not read the bucket, the delete fails', async () => {
    const { stack } = bucketStack({ autoDeleteObjects: true });
    const json = template(stack);
    const [emptying] = Object.keys(json.Resources).filter(id => json.Resources[id].Type === 'Custom::S3AutoDeleteObjects');
    const [policy] = Object.keys(json.Resources).filter(id => json.Resources[id].Type === 'AWS::S3::BucketPolicy');
    // the policy now depends on the emptying: CloudFormation deletes the policy first
    const reordered: TemplateJson = {
      ...json,
      Resources: {
        ...json.Resources,
        [emptying]: { ...json.Resources[emptying], DependsOn: undefined },
        [policy]: { ...json.Resources[policy], DependsOn: [emptying] },
      },
    };
    const { outcome, failure, account } = await destroyed(stack, writeAndDelete, reordered);
    expect(outcome.status).toBe('DELETE_FAILED');
    expect(failure).toMatch(new RegExp(`^${emptying}: Delete of Custom::S3AutoDeleteObjects ${emptying} failed: User: arn:aws:iam::123456789012:role/.* is not authorized to perform: s3:GetBucketTagging`));
    expect(account.objectVersions(account.bucketNames()[0])).toBe(3);
  });
});

describe('KMS: a key removed with the stack waits 7 to 30 days', () => {
  test('PendingDeletion for its PendingWindowInDays (30 unless set); a retained key stays enabled', async () => {
    const stack = new Stack(new App(), 'Keys');
    new kms.Key(stack, 'Week', { removalPolicy: RemovalPolicy.DESTROY, pendingWindow: Duration.days(7) });
    new kms.Key(stack, 'Month', { removalPolicy: RemovalPolicy.DESTROY });
    new kms.Key(stack, 'Kept');
    const { outcome, account } = await destroyed(stack);
    expect(outcome.status).toBe('DELETE_COMPLETE');
    expect(account.remaining().map(r => [r.kind, r.origin.replace(/[0-9A-F]{8}$/, ''), r.pendingWindowInDays]).sort()).toEqual([
      [KIND.retainedKey, 'Keys/Kept', undefined],
      [KIND.pendingKey, 'Keys/Month', 30],
      [KIND.pendingKey, 'Keys/Week', 7],
    ].sort());
  });

  test('a waiting period outside 7 to 30 days: KMS refuses to schedule the deletion', async () => {
    const stack = new Stack(new App(), 'Keys');
    new kms.CfnKey(stack, 'Short', { keyPolicy: { Version: '2012-10-17', Statement: [] }, pendingWindowInDays: 5 }).cfnOptions.deletionPolicy = CfnDeletionPolicy.DELETE;
    const { outcome, failure } = await destroyed(stack);
    expect(outcome.status).toBe('DELETE_FAILED');
    expect(failure).toMatch(/^Short: ValidationException: PendingWindowInDays 5 of [0-9a-f-]{36} is not an integer from 7 to 30$/);
  });
});

describe('retention policies', () => {
  test('Retain keeps a log group, its key and a bucket with what it holds; Snapshot leaves a final snapshot', async () => {
    const stack = new Stack(new App(), 'Kept');
    const key = new kms.Key(stack, 'Key');
    new logs.LogGroup(stack, 'Logs', { encryptionKey: key });
    new s3.Bucket(stack, 'Bucket', { versioned: true });
    new rds.CfnDBInstance(stack, 'Database', { engine: 'postgres', dbInstanceClass: 'db.t4g.micro', allocatedStorage: '20' })
      .cfnOptions.deletionPolicy = CfnDeletionPolicy.SNAPSHOT;
    const { outcome, account, model } = await destroyed(stack, a => a.putObject(a.bucketNames()[0], 'kept.json'));
    expect(outcome.status).toBe('DELETE_COMPLETE');
    expect(model.events.filter(e => e.status === 'DELETE_SKIPPED').map(e => e.type).sort()).toEqual(['AWS::KMS::Key', 'AWS::Logs::LogGroup', 'AWS::S3::Bucket']);
    expect(account.remaining().map(r => r.kind).sort()).toEqual([KIND.retainedLogGroup, KIND.retainedKey, KIND.retainedBucket, KIND.snapshot].sort());
    expect(account.objectVersions(account.bucketNames()[0])).toBe(1);
    expect(account.unreadable()).toEqual([]);
  });

  test('a retained log group under a key removed with the stack: unreadable once KMS deletes the key', async () => {
    const stack = new Stack(new App(), 'Kept');
    const key = new kms.Key(stack, 'Key', { removalPolicy: RemovalPolicy.DESTROY });
    new logs.LogGroup(stack, 'Logs', { encryptionKey: key });
    const { account } = await destroyed(stack);
    expect(account.unreadable()).toEqual([expect.stringMatching(/^log group Kept-Logs.* \(Kept\/Logs[0-9A-F]{8}\) under key arn:aws:kms:us-east-1:123456789012:key\//)]);
  });

  test('RetainExceptOnCreate: kept by a stack delete, deleted by the rollback of the create that made it', async () => {
    const build = () => {
      const stack = new Stack(new App(), 'Kept');
      const group = new logs.LogGroup(stack, 'Logs', { logGroupName: '/kept/logs' });
      (group.node.defaultChild as logs.CfnLogGroup).cfnOptions.deletionPolicy = CfnDeletionPolicy.RETAIN_EXCEPT_ON_CREATE;
      addFailingResource(stack, 'Failing', [group]);
      return stack;
    };
    const rolledBack = newAccount();
    const failed = modelOf(build(), rolledBack);
    expect((await failed.create(template(build()), { failAt: 'Failing' })).status).toBe('ROLLBACK_COMPLETE');
    expect(rolledBack.remaining()).toEqual([]);

    const { outcome, account } = await destroyed(build());
    expect(outcome.status).toBe('DELETE_COMPLETE');
    expect(account.remaining().map(r => [r.kind, r.name])).toEqual([[KIND.retainedLogGroup, '/kept/logs']]);
  });

  test('a retained log group with a fixed name: a new deployment of the stack fails with already exists; a generated name does not', async () => {
    const stack = new Stack(new App(), 'Named');
    new logs.LogGroup(stack, 'Fixed', { logGroupName: '/named/fixed' });
    new logs.LogGroup(stack, 'Generated');
    const { account } = await destroyed(stack);
    expect(account.remaining().filter(r => r.kind === KIND.retainedLogGroup)).toHaveLength(2);
    const again = modelOf(stack, account);
    await expect(again.adopt(template(stack))).rejects.toMatchObject({
      name: 'AlreadyExists',
      message: expect.stringMatching(/^Resource of type 'AWS::Logs::LogGroup' with identifier '\/named\/fixed' already exists\. \(kept from Named\/Fixed/),
    });
    expect(account.takenNames(modelOf(stack, account).deployed(template(stack)))).toEqual([expect.stringMatching(/^Fixed[0-9A-F]{8} \(AWS::Logs::LogGroup \/named\/fixed\)$/)]);
  });
});

describe('network interfaces: a security group or subnet goes only once the interfaces in it are gone', () => {
  function functionInVpc(removalPolicy?: RemovalPolicy): { stack: Stack; fn: lambda.Function; securityGroup: ec2.SecurityGroup } {
    const stack = new Stack(new App(), 'InVpc');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, restrictDefaultSecurityGroup: false, subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    const securityGroup = new ec2.SecurityGroup(stack, 'Group', { vpc });
    const fn = new lambda.Function(stack, 'Function', {
      runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({});'), vpc, securityGroups: [securityGroup],
    });
    if (removalPolicy) fn.applyRemovalPolicy(removalPolicy);
    return { stack, fn, securityGroup };
  }

  test('a Lambda function in a VPC: deleted before its security group and subnets, its interfaces released with it', async () => {
    const { stack, fn, securityGroup } = functionInVpc();
    const account = newAccount();
    const model = modelOf(stack, account);
    await model.adopt(template(stack));
    // one in each of its subnets, with its security group
    const subnets = Object.keys(template(stack).Resources).filter(id => template(stack).Resources[id].Type === 'AWS::EC2::Subnet');
    expect(account.networkInterfaces()).toEqual(subnets.map(subnet => ({
      owner: `InVpc/${logicalId(stack, fn)}`, subnet: model.physicalId(subnet), securityGroups: [model.physicalId(logicalId(stack, securityGroup))],
    })));
    expect((await model.delete()).status).toBe('DELETE_COMPLETE');
    expect(account.networkInterfaces()).toEqual([]);
  });

  test('a function its DeletionPolicy keeps keeps its interfaces: EC2 refuses to delete its security group (DependencyViolation)', async () => {
    const { stack, securityGroup } = functionInVpc(RemovalPolicy.RETAIN);
    const { outcome, failure } = await destroyed(stack);
    expect(outcome.status).toBe('DELETE_FAILED');
    expect(failure).toMatch(new RegExp(`^${logicalId(stack, securityGroup)}: DependencyViolation: resource sg-[0-9a-f]{17} has a dependent object \\(network interfaces of InVpc/Function`));
  });

  test('a function without a log group of its own leaves /aws/lambda/<name>; one with its own does not', async () => {
    const stack = new Stack(new App(), 'Functions');
    const code = lambda.Code.fromInline('exports.handler = async () => ({});');
    new lambda.Function(stack, 'Plain', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code });
    new lambda.Function(stack, 'Logged', {
      runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code, logGroup: new logs.LogGroup(stack, 'Logs', { removalPolicy: RemovalPolicy.DESTROY }),
    });
    const { outcome, account } = await destroyed(stack);
    expect(outcome.status).toBe('DELETE_COMPLETE');
    expect(account.remaining().map(r => [r.kind, r.origin.replace(/[0-9A-F]{8}$/, '')])).toEqual([[KIND.lambdaLogGroup, 'Functions/Plain']]);
  });
});
