import { DescribeSecretCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import type { ProviderRequest } from '../../lib/provider/handler-types';
import { onEvent } from '../../lib/secrets/secret-arns.handler';

const sm = mockClient(SecretsManagerClient);

function request(requestType: 'Create' | 'Update' | 'Delete', secrets: Record<string, { SecretId: string; Property?: string }>): ProviderRequest {
  return {
    RequestType: requestType,
    ResourceType: 'Custom::NeonDmsSecretArns',
    LogicalResourceId: 'NeonDmsSecretArns',
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/S/1',
    RequestId: 'r1',
    ResourceProperties: { ServiceToken: 'arn', Secrets: secrets },
    ...(requestType === 'Create' ? {} : { PhysicalResourceId: 'secret-arns' }),
  };
}

beforeEach(() => {
  sm.reset();
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

test('answers the complete ARN of every secret, by attribute, reading no value', async () => {
  sm.on(DescribeSecretCommand, { SecretId: 'neon/connection-string' }).resolves({ ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:neon/connection-string-AbCdEf' });
  sm.on(DescribeSecretCommand, { SecretId: 'source/app' }).resolves({ ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:source/app-GhIjKl' });
  const result = await onEvent(request('Create', { ArnA: { SecretId: 'neon/connection-string' }, ArnB: { SecretId: 'source/app' } }));
  expect(result).toEqual({
    PhysicalResourceId: 'secret-arns',
    Data: {
      ArnA: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:neon/connection-string-AbCdEf',
      ArnB: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:source/app-GhIjKl',
    },
  });
  expect(sm.calls().map(c => c.args[0].constructor.name)).toEqual(['DescribeSecretCommand', 'DescribeSecretCommand']);
});

test('a missing secret fails the deployment naming the property and the secret', async () => {
  sm.on(DescribeSecretCommand).rejects(new ResourceNotFoundException({ message: 'not found', $metadata: {} }));
  await expect(onEvent(request('Update', { ArnA: { SecretId: 'neon/url', Property: 'connectionStringSecret' } })))
    .rejects.toThrow('Secret connectionStringSecret (neon/url) does not exist in this account and Region: create it before deploying, or pass its complete ARN.');
});

test('access denied points to the cross-account case', async () => {
  sm.on(DescribeSecretCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
  await expect(onEvent(request('Create', { ArnA: { SecretId: 'arn:aws:secretsmanager:us-east-1:210987654321:secret:shared', Property: 'secret' } })))
    .rejects.toThrow(/Not allowed to describe secret secret \(arn:aws:secretsmanager:us-east-1:210987654321:secret:shared\): if it is in another account, pass its complete ARN/);
});

test('delete looks nothing up', async () => {
  expect(await onEvent(request('Delete', { ArnA: { SecretId: 'neon/url' } }))).toEqual({ PhysicalResourceId: 'secret-arns' });
  expect(sm.calls()).toHaveLength(0);
});
