import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { executionName, onEvent } from '../../lib/fidelity/distributed/start.handler';
import { DISTRIBUTED_VERIFICATION_TYPE } from '../../lib/fidelity/kinds';
import type { ProviderRequest } from '../../lib/provider/handler-types';
import { dispatcher } from '../../lib/resource-handlers';

const sfn = mockClient(SFNClient);
const cfn = mockClient(CloudFormationClient);
const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:Verify';

function request(type: ProviderRequest['RequestType'], run: Record<string, string> = { WaitHandle: 'https://handle/1', TaskIdentifier: 't' }): ProviderRequest {
  return {
    RequestType: type,
    ResourceType: DISTRIBUTED_VERIFICATION_TYPE,
    LogicalResourceId: 'VerificationDistributed',
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/S/1',
    RequestId: 'r',
    PhysicalResourceId: type === 'Create' ? undefined : 'verification:VerificationDistributed',
    ResourceProperties: { StateMachineArn: MACHINE, Run: run },
  };
}

beforeEach(() => {
  sfn.reset();
  cfn.reset();
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'S', StackStatus: 'UPDATE_IN_PROGRESS', CreationTime: new Date() }] });
  sfn.on(StartExecutionCommand).resolves({ executionArn: `${MACHINE}:x`, startDate: new Date() });
});

test('create starts the state machine once, named after the run, with a prefix of its own (through the shared dispatcher)', async () => {
  const result = await dispatcher.onEvent(request('Create'));
  const start = sfn.commandCalls(StartExecutionCommand)[0].args[0].input;
  expect(start.stateMachineArn).toBe(MACHINE);
  expect(start.name).toBe(executionName(request('Create')));
  expect(JSON.parse(start.input!)).toEqual({ Run: { WaitHandle: 'https://handle/1', TaskIdentifier: 't', Prefix: `runs/${start.name}/` } });
  expect(result.Data).toEqual({ ExecutionName: start.name });
  // a new run (a new wait condition handle) is a new execution
  expect(executionName(request('Update', { WaitHandle: 'https://handle/2', TaskIdentifier: 't' }))).not.toBe(start.name);
});

test('a repeated request finds the execution running and succeeds', async () => {
  sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('exists'), { name: 'ExecutionAlreadyExists' }));
  await expect(onEvent(request('Update'))).resolves.toMatchObject({ PhysicalResourceId: 'verification:VerificationDistributed' });
  sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
  await expect(onEvent(request('Create'))).rejects.toThrow(/denied/);
});

test('a rollback starts nothing, and delete never fails nor calls AWS', async () => {
  cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'S', StackStatus: 'UPDATE_ROLLBACK_IN_PROGRESS', CreationTime: new Date() }] });
  await dispatcher.onEvent(request('Update'));
  sfn.on(StartExecutionCommand).rejects(new Error('must not be called'));
  await expect(dispatcher.onEvent(request('Delete'))).resolves.toEqual({ PhysicalResourceId: 'verification:VerificationDistributed' });
  expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
});
