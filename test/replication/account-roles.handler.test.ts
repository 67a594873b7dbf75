import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  EntityAlreadyExistsException,
  GetRoleCommand,
  IAMClient,
  NoSuchEntityException,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import type { ProviderRequest } from '../../lib/provider/handler-types';
import { isComplete, onEvent, SETTLE_MILLISECONDS } from '../../lib/replication/account-roles.handler';

const iam = mockClient(IAMClient);

const VPC_POLICY = 'arn:aws:iam::aws:policy/service-role/AmazonDMSVPCManagementRole';
const LOGS_POLICY = 'arn:aws:iam::aws:policy/service-role/AmazonDMSCloudWatchLogsRole';

function request(requestType: 'Create' | 'Update' | 'Delete', extra: Partial<ProviderRequest> = {}): ProviderRequest {
  return {
    RequestType: requestType,
    ResourceType: 'Custom::DmsAccountRoles',
    LogicalResourceId: 'DmsAccountRoles',
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/S/1',
    RequestId: 'r1',
    ResourceProperties: { ServiceToken: 'arn', Partition: 'aws' },
    ...(requestType === 'Create' ? {} : { PhysicalResourceId: 'dms-account-roles' }),
    ...extra,
  };
}

function missing(): NoSuchEntityException {
  return new NoSuchEntityException({ message: 'The role cannot be found.', $metadata: {} });
}

function role(name: string, tags: { Key: string; Value: string }[] = []) {
  return {
    Role: {
      RoleName: name,
      Arn: `arn:aws:iam::123456789012:role/${name}`,
      Path: '/',
      RoleId: 'AROA',
      CreateDate: new Date(0),
      Tags: tags,
    },
  };
}

beforeEach(() => {
  iam.reset();
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('onEvent', () => {
  test('creates both roles with the DMS trust policy and attaches their managed policies when both are missing', async () => {
    iam.on(GetRoleCommand).rejects(missing());
    iam.on(CreateRoleCommand).callsFake((input) => role(input.RoleName));
    iam.on(AttachRolePolicyCommand).resolves({});

    const result = await onEvent(request('Create'));

    expect(result.PhysicalResourceId).toBe('dms-account-roles');
    expect(result.Data?.CreatedRoles).toBe('dms-vpc-role,dms-cloudwatch-logs-role');
    expect(Number(result.Data?.CreatedAt)).toBeGreaterThan(0);

    const creates = iam.commandCalls(CreateRoleCommand).map(c => c.args[0].input);
    expect(creates.map(c => c.RoleName)).toEqual(['dms-vpc-role', 'dms-cloudwatch-logs-role']);
    for (const create of creates) {
      expect(JSON.parse(create.AssumeRolePolicyDocument!)).toEqual({
        Version: '2012-10-17',
        // confused-deputy prevention: DMS assumes it on behalf of this account only (the stack's account)
        Statement: [{
          Effect: 'Allow',
          Principal: { Service: 'dms.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
        }],
      });
      expect(create.Tags).toEqual([{ Key: 'created-by', Value: 'cdk-neon-migration' }]);
    }
    expect(iam.commandCalls(AttachRolePolicyCommand).map(c => c.args[0].input)).toEqual([
      { RoleName: 'dms-vpc-role', PolicyArn: VPC_POLICY },
      { RoleName: 'dms-cloudwatch-logs-role', PolicyArn: LOGS_POLICY },
    ]);
  });

  test('leaves both roles alone when they exist and were not created by this library', async () => {
    iam.on(GetRoleCommand).callsFake((input) => role(input.RoleName));

    const result = await onEvent(request('Create'));

    expect(result).toEqual({ PhysicalResourceId: 'dms-account-roles', Data: {} });
    expect(iam.commandCalls(GetRoleCommand).map(c => c.args[0].input.RoleName)).toEqual(['dms-vpc-role', 'dms-cloudwatch-logs-role']);
    expect(iam.commandCalls(CreateRoleCommand)).toHaveLength(0);
    expect(iam.commandCalls(AttachRolePolicyCommand)).toHaveLength(0);
  });

  test('creates only the missing role when the other one exists', async () => {
    iam.on(GetRoleCommand, { RoleName: 'dms-vpc-role' }).resolves(role('dms-vpc-role'));
    iam.on(GetRoleCommand, { RoleName: 'dms-cloudwatch-logs-role' }).rejects(missing());
    iam.on(CreateRoleCommand).callsFake((input) => role(input.RoleName));
    iam.on(AttachRolePolicyCommand).resolves({});

    const result = await onEvent(request('Update'));

    expect(result.Data?.CreatedRoles).toBe('dms-cloudwatch-logs-role');
    expect(iam.commandCalls(CreateRoleCommand).map(c => c.args[0].input.RoleName)).toEqual(['dms-cloudwatch-logs-role']);
    expect(iam.commandCalls(AttachRolePolicyCommand).map(c => c.args[0].input)).toEqual([
      { RoleName: 'dms-cloudwatch-logs-role', PolicyArn: LOGS_POLICY },
    ]);
  });

  test('re-attaches the managed policy of an existing role it created earlier (an interrupted run)', async () => {
    iam.on(GetRoleCommand).callsFake((input) => role(input.RoleName, [{ Key: 'created-by', Value: 'cdk-neon-migration' }]));
    iam.on(AttachRolePolicyCommand).resolves({});

    const result = await onEvent(request('Create'));

    expect(result.Data).toEqual({});
    expect(iam.commandCalls(CreateRoleCommand)).toHaveLength(0);
    expect(iam.commandCalls(AttachRolePolicyCommand).map(c => c.args[0].input)).toEqual([
      { RoleName: 'dms-vpc-role', PolicyArn: VPC_POLICY },
      { RoleName: 'dms-cloudwatch-logs-role', PolicyArn: LOGS_POLICY },
    ]);
  });

  test('succeeds when another stack creates a role at the same time (EntityAlreadyExists)', async () => {
    iam.on(GetRoleCommand).rejects(missing());
    iam.on(CreateRoleCommand, { RoleName: 'dms-vpc-role' }).rejects(
      new EntityAlreadyExistsException({ message: 'Role with name dms-vpc-role already exists.', $metadata: {} }));
    iam.on(CreateRoleCommand, { RoleName: 'dms-cloudwatch-logs-role' }).resolves(role('dms-cloudwatch-logs-role'));
    iam.on(AttachRolePolicyCommand).resolves({});

    const result = await onEvent(request('Create'));

    expect(result.Data?.CreatedRoles).toBe('dms-cloudwatch-logs-role');
    expect(iam.commandCalls(AttachRolePolicyCommand).map(c => c.args[0].input)).toEqual([
      { RoleName: 'dms-cloudwatch-logs-role', PolicyArn: LOGS_POLICY },
    ]);
  });

  test('uses the partition of the stack for the managed policy ARNs', async () => {
    iam.on(GetRoleCommand).rejects(missing());
    iam.on(CreateRoleCommand).callsFake((input) => role(input.RoleName));
    iam.on(AttachRolePolicyCommand).resolves({});

    await onEvent(request('Create', { ResourceProperties: { ServiceToken: 'arn', Partition: 'aws-us-gov' } }));

    expect(iam.commandCalls(AttachRolePolicyCommand).map(c => c.args[0].input.PolicyArn)).toEqual([
      'arn:aws-us-gov:iam::aws:policy/service-role/AmazonDMSVPCManagementRole',
      'arn:aws-us-gov:iam::aws:policy/service-role/AmazonDMSCloudWatchLogsRole',
    ]);
  });

  test('fails on any other IAM error', async () => {
    iam.on(GetRoleCommand).rejects(Object.assign(new Error('User is not authorized to perform: iam:GetRole'), { name: 'AccessDenied' }));

    await expect(onEvent(request('Create'))).rejects.toThrow(/not authorized to perform: iam:GetRole/);
    expect(iam.commandCalls(CreateRoleCommand)).toHaveLength(0);
  });

  test('delete keeps the roles and calls nothing', async () => {
    const result = await onEvent(request('Delete'));

    expect(result).toEqual({ PhysicalResourceId: 'dms-account-roles' });
    expect(iam.calls()).toHaveLength(0);
  });
});

describe('isComplete', () => {
  test('is complete at once when no role was created', async () => {
    const result = await isComplete(request('Create', { PhysicalResourceId: 'dms-account-roles', Data: {} }));

    expect(result).toEqual({ IsComplete: true });
    expect(iam.calls()).toHaveLength(0);
  });

  test('waits while a created role is not readable yet', async () => {
    iam.on(GetRoleCommand).rejects(missing());
    const result = await isComplete(request('Create', {
      PhysicalResourceId: 'dms-account-roles',
      Data: { CreatedRoles: 'dms-vpc-role', CreatedAt: String(Date.now() - 60_000) },
    }));

    expect(result).toEqual({ IsComplete: false });
    expect(iam.commandCalls(GetRoleCommand).map(c => c.args[0].input.RoleName)).toEqual(['dms-vpc-role']);
  });

  test('waits for the settle delay after the roles became readable', async () => {
    iam.on(GetRoleCommand).callsFake((input) => role(input.RoleName));
    const result = await isComplete(request('Create', {
      PhysicalResourceId: 'dms-account-roles',
      Data: { CreatedRoles: 'dms-vpc-role,dms-cloudwatch-logs-role', CreatedAt: String(Date.now()) },
    }));

    expect(result).toEqual({ IsComplete: false });
  });

  test('is complete when the roles are readable and the settle delay has passed', async () => {
    iam.on(GetRoleCommand).callsFake((input) => role(input.RoleName));
    const result = await isComplete(request('Create', {
      PhysicalResourceId: 'dms-account-roles',
      Data: { CreatedRoles: 'dms-vpc-role,dms-cloudwatch-logs-role', CreatedAt: String(Date.now() - SETTLE_MILLISECONDS - 1) },
    }));

    expect(result).toEqual({ IsComplete: true });
    expect(iam.commandCalls(GetRoleCommand).map(c => c.args[0].input.RoleName)).toEqual(['dms-vpc-role', 'dms-cloudwatch-logs-role']);
  });

  test('still waits 30 seconds after the roles appeared: what others needed before DMS accepted dms-vpc-role (terraform-provider-aws #11025)', async () => {
    iam.on(GetRoleCommand).callsFake((input) => role(input.RoleName));
    for (const seconds of [0, 15, 30, 45]) {
      const result = await isComplete(request('Create', {
        PhysicalResourceId: 'dms-account-roles',
        Data: { CreatedRoles: 'dms-vpc-role', CreatedAt: String(Date.now() - seconds * 1000) },
      }));
      expect([seconds, result.IsComplete]).toEqual([seconds, false]);
    }
  });

  test('delete is complete at once', async () => {
    expect(await isComplete(request('Delete'))).toEqual({ IsComplete: true });
    expect(iam.calls()).toHaveLength(0);
  });
});
