import * as https from 'https';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { FakeNeonApi, fakeNeonApiPerTest } from './neon-fake-api';
import { isComplete, onEvent, OPERATION_WAIT_MS } from '../../lib/live/neon-compute.handler';
import { neonApiRetry } from '../../lib/neon/neon-api';
import type { ProviderRequest } from '../../lib/provider/handler-types';

const sm = mockClient(SecretsManagerClient);

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-2:123456789012:secret:neon/api-key-AbCdEf';
const API_KEY = 'napi_computecanary4e1b77q';
const PROJECT = 'crimson-sun-12345678';
const ENDPOINT = 'ep-cool-darkness-123456';
const ENDPOINT_PATH = `/api/v2/projects/${PROJECT}/endpoints/${ENDPOINT}`;
const PHYSICAL = (restore: number) => `neon-compute/${PROJECT}/${ENDPOINT}/restore=${restore}`;

const neon = fakeNeonApiPerTest();
let api: FakeNeonApi;
let logs: jest.SpyInstance;
const defaultRetry = { ...neonApiRetry };

beforeEach(() => {
  api = neon.api;
  api.projects.set(PROJECT, {
    plan: 'launch',
    branch_logical_size_limit_bytes: 3 * 1024 ** 3,
    endpoints: { [ENDPOINT]: { branch_id: 'br-main-1', suspend_timeout_seconds: 300 } },
    branches: { 'br-main-1': 2048 },
  });
  sm.reset();
  sm.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: API_KEY });
  Object.assign(neonApiRetry, { ...defaultRetry, baseDelayMs: 5, maxDelayMs: 2000 });
  logs = jest.spyOn(console, 'log').mockImplementation(() => undefined);
});

afterEach(() => {
  expect(JSON.stringify(logs.mock.calls)).not.toContain(API_KEY);
  jest.restoreAllMocks();
});

function request(type: 'Create' | 'Update' | 'Delete', props: Record<string, unknown> = {}, old?: Record<string, unknown>, physicalId?: string): ProviderRequest {
  const resourceProps = (extra: Record<string, unknown>) => ({
    ServiceToken: 'arn:aws:lambda:us-east-2:123456789012:function:provider',
    ProjectId: PROJECT,
    EndpointId: ENDPOINT,
    ApiKeySecretArn: SECRET_ARN,
    ApiBaseUrl: api.baseUrl,
    SuspendTimeoutSeconds: '-1',
    ...extra,
  });
  return {
    RequestType: type,
    ResourceType: 'Custom::NeonComputeKeepAlive',
    LogicalResourceId: 'MigrationNeonCompute1A2B3C',
    StackId: 'arn:aws:cloudformation:us-east-2:123456789012:stack/S/1',
    RequestId: 'req-1',
    ResourceProperties: resourceProps(props),
    OldResourceProperties: old ? resourceProps(old) : undefined,
    PhysicalResourceId: type === 'Create' ? undefined : physicalId ?? PHYSICAL(300),
  };
}

/** onEvent, then isComplete until complete, as the Provider framework polls it (never with isComplete's own Data). */
async function run(event: ProviderRequest): Promise<{ physicalId?: string; data: Record<string, any>; polls: number }> {
  const result = await onEvent(event);
  let polls = 0;
  for (;;) {
    polls++;
    const done = await isComplete({ ...event, PhysicalResourceId: result.PhysicalResourceId, Data: result.Data });
    if (done.IsComplete) break;
    // the framework refuses Data with IsComplete false
    expect(done.Data).toBeUndefined();
    if (polls > 5) throw new Error('never completed');
  }
  return { physicalId: result.PhysicalResourceId, data: result.Data ?? {}, polls };
}

const GET = `GET ${ENDPOINT_PATH}`;
const PATCH = `PATCH ${ENDPOINT_PATH}`;
/** The branch's size and limit, read after the setting for the preflight's storage check. */
const STORAGE = [`GET /api/v2/projects/${PROJECT}`, `GET /api/v2/projects/${PROJECT}/branches/br-main-1`];
const op = (id: string) => `GET /api/v2/projects/${PROJECT}/operations/${id}`;

describe('keeping the compute active', () => {
  test('Create reads the setting, writes never-suspend, keeps the old value in the physical id and waits for Neon\'s operation', async () => {
    const result = await run(request('Create'));

    expect(api.calls()).toEqual([GET, PATCH, ...STORAGE, op('op-1'), op('op-1')]);
    const patch = api.received[1];
    expect(patch).toEqual({
      method: 'PATCH',
      path: ENDPOINT_PATH,
      authorization: `Bearer ${API_KEY}`,
      contentType: 'application/json',
      body: { endpoint: { suspend_timeout_seconds: -1 } },
    });
    expect(api.projects.get(PROJECT)!.endpoints[ENDPOINT].suspend_timeout_seconds).toBe(-1);
    expect(result.physicalId).toBe(PHYSICAL(300));
    expect(result.data).toEqual(expect.objectContaining({ Operations: 'op-1', SuspendTimeoutSeconds: '-1', RestoreSuspendTimeoutSeconds: '300' }));
    // the branch's storage, for the preflight (which cannot reach the Neon API from the VPC)
    expect(result.data).toEqual(expect.objectContaining({
      BranchId: 'br-main-1',
      BranchLogicalSizeBytes: '2048',
      BranchLogicalSizeLimitBytes: String(3 * 1024 ** 3),
      BranchLogicalSizeLimitSource: 'branch_logical_size_limit_bytes of the project (its plan)',
    }));
    expect(result.polls).toBe(2);
    expect(JSON.stringify(result)).not.toContain(API_KEY);
    // read by each invocation (onEvent, two polls): the key is held in memory only while one runs
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual(Array(3).fill({ SecretId: SECRET_ARN }));
  });

  test('a compute on the project\'s default (0) is restored to the default', async () => {
    api.projects.get(PROJECT)!.endpoints[ENDPOINT].suspend_timeout_seconds = undefined;
    const result = await run(request('Create'));
    expect(result.physicalId).toBe(PHYSICAL(0));
  });

  test('a chosen suspendTimeout is written instead of never', async () => {
    await run(request('Create', { SuspendTimeoutSeconds: '3600' }));
    expect(api.received[1].body).toEqual({ endpoint: { suspend_timeout_seconds: 3600 } });
  });

  test('a compute that already never suspends is not written, and restored to never', async () => {
    api.projects.get(PROJECT)!.endpoints[ENDPOINT].suspend_timeout_seconds = -1;
    const result = await run(request('Create'));
    expect(api.calls()).toEqual([GET, ...STORAGE]);
    expect(result.physicalId).toBe(PHYSICAL(-1));
    expect(result.data.Operations).toBe('');
  });

  test('a branch whose storage the API does not tell leaves the storage attributes empty, not the deployment failed', async () => {
    api.projects.get(PROJECT)!.branches = {};
    const result = await run(request('Create'));
    expect(result.data).toEqual(expect.objectContaining({ BranchId: '', BranchLogicalSizeBytes: '', BranchLogicalSizeLimitBytes: '' }));
    expect(api.projects.get(PROJECT)!.endpoints[ENDPOINT].suspend_timeout_seconds).toBe(-1);
  });

  test('the API key comes from a JSON field of the secret', async () => {
    sm.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: JSON.stringify({ NEON_API_KEY: API_KEY }) });
    await run(request('Create', { ApiKeySecretField: 'NEON_API_KEY' }));
    expect(api.received.every((r) => r.authorization === `Bearer ${API_KEY}`)).toBe(true);
  });
});

describe('updates', () => {
  test('a new suspendTimeout on the same compute is written; the value to restore stays the one found at Create', async () => {
    api.projects.get(PROJECT)!.endpoints[ENDPOINT].suspend_timeout_seconds = -1;
    const result = await run(request('Update', { SuspendTimeoutSeconds: '7200' }, {}, PHYSICAL(300)));
    expect(api.calls()).toEqual([GET, PATCH, ...STORAGE, op('op-1'), op('op-1')]);
    expect(api.received[1].body).toEqual({ endpoint: { suspend_timeout_seconds: 7200 } });
    expect(result.physicalId).toBe(PHYSICAL(300));
  });

  test('a setting changed by hand during the migration is written again', async () => {
    api.projects.get(PROJECT)!.endpoints[ENDPOINT].suspend_timeout_seconds = 300;
    const result = await run(request('Update', {}, {}, PHYSICAL(600)));
    expect(api.projects.get(PROJECT)!.endpoints[ENDPOINT].suspend_timeout_seconds).toBe(-1);
    expect(result.physicalId).toBe(PHYSICAL(600));
  });

  test('another compute gets a physical id of its own; the Delete CloudFormation sends for the old one restores the old compute', async () => {
    api.projects.get(PROJECT)!.endpoints['ep-other-654321'] = { branch_id: 'br-dev-2', suspend_timeout_seconds: 900 };
    api.projects.get(PROJECT)!.endpoints[ENDPOINT].suspend_timeout_seconds = -1;
    const update = await run(request('Update', { EndpointId: 'ep-other-654321' }, {}, PHYSICAL(300)));
    expect(update.physicalId).toBe(`neon-compute/${PROJECT}/ep-other-654321/restore=900`);
    await run(request('Delete', {}, undefined, PHYSICAL(300)));
    expect(api.projects.get(PROJECT)!.endpoints[ENDPOINT].suspend_timeout_seconds).toBe(300);
    expect(api.projects.get(PROJECT)!.endpoints['ep-other-654321'].suspend_timeout_seconds).toBe(-1);
  });
});

describe('restoring on delete', () => {
  test('writes the value found at Create back and waits for the operation', async () => {
    api.projects.get(PROJECT)!.endpoints[ENDPOINT].suspend_timeout_seconds = -1;
    const result = await run(request('Delete'));
    expect(api.calls()).toEqual([GET, PATCH, op('op-1'), op('op-1')]);
    expect(api.received[1].body).toEqual({ endpoint: { suspend_timeout_seconds: 300 } });
    expect(result.physicalId).toBe(PHYSICAL(300));
  });

  test('a setting someone changed since is left as it is', async () => {
    api.projects.get(PROJECT)!.endpoints[ENDPOINT].suspend_timeout_seconds = 1800;
    await run(request('Delete'));
    expect(api.calls()).toEqual([GET]);
    expect(api.projects.get(PROJECT)!.endpoints[ENDPOINT].suspend_timeout_seconds).toBe(1800);
  });

  test('a compute or project that no longer exists has nothing to restore', async () => {
    api.projects.get(PROJECT)!.endpoints = {};
    await run(request('Delete'));
    expect(api.calls()).toEqual([GET]);
    api.projects.clear();
    await run(request('Delete'));
    expect(api.calls()).toEqual([GET, GET]);
  });

  test('a physical id without a recorded value (a Create that failed early) restores nothing and reads no key', async () => {
    await run(request('Delete', {}, undefined, 'MigrationNeonCompute1A2B3C-failed'));
    expect(api.calls()).toEqual([]);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  test('a project moved to the Free plan meanwhile is left to the plan\'s fixed setting', async () => {
    const project = api.projects.get(PROJECT)!;
    project.endpoints[ENDPOINT].suspend_timeout_seconds = -1;
    project.plan = 'free';
    await run(request('Delete'));
    expect(api.calls()).toEqual([GET, PATCH]);
  });
});

describe('refusals and errors', () => {
  test('the Free plan\'s refusal fails the deployment with what the plans allow, not Neon\'s body', async () => {
    api.projects.get(PROJECT)!.plan = 'free';
    const error = await onEvent(request('Create')).catch((e: Error) => e);
    expect((error as Error).message).toBe(`Neon refused to change the scale-to-zero setting of compute ${ENDPOINT} (HTTP 400): on Neon's Free plan a compute `
      + 'suspends after 5 idle minutes and that cannot be changed; the Launch plan can turn scale to zero off, only the Scale plan can set another delay '
      + '(https://neon.com/docs/guides/scale-to-zero-guide). Move the project to a paid plan (or leave suspendTimeout out below the Scale plan), '
      + 'or remove neonCompute: DMS then reconnects each time the compute suspends, retrying as the task\'s RecoverableErrorCount allows.');
    expect((error as Error).message).not.toContain('upgrade your plan');
    expect(api.projects.get(PROJECT)!.endpoints[ENDPOINT].suspend_timeout_seconds).toBe(300);
  });

  test('a rejected API key names the secret, not the key', async () => {
    api.script.push({ status: 401, body: { message: `bad key ${API_KEY}` } });
    await expect(onEvent(request('Create'))).rejects.toThrow(
      `Neon API key rejected (HTTP 401): check the secret ${SECRET_ARN} (neonCompute.apiKeySecret) holds a valid Neon API key.`);
  });

  test('a key of another organization (403) and an unknown compute (404) say what to check', async () => {
    api.script.push({ status: 403, body: { message: 'forbidden' } });
    await expect(onEvent(request('Create'))).rejects.toThrow(`Neon API key may not manage project ${PROJECT} (HTTP 403)`);
    await expect(onEvent(request('Create', { EndpointId: 'ep-missing-000000' }))).rejects.toThrow(
      `Neon compute ep-missing-000000 not found in project ${PROJECT} (HTTP 404 from ${api.baseUrl}): check neonCompute.projectId and the target's endpoint id`);
  });

  test('a locked project (423), rate limits (429) and server errors (5xx) are retried', async () => {
    api.script.push({ status: 423, body: { message: 'project locked' } }, { status: 429, headers: { 'retry-after': '0' } }, { status: 503 });
    await run(request('Create'));
    expect(api.calls()).toEqual([GET, GET, GET, GET, PATCH, ...STORAGE, op('op-1'), op('op-1')]);
  });

  test('gives up after the last attempt with the last status', async () => {
    neonApiRetry.attempts = 2;
    api.script.push({ status: 502 }, { status: 502 });
    await expect(onEvent(request('Create'))).rejects.toThrow(`Neon API GET /projects/${PROJECT}/endpoints/${ENDPOINT} still failing after 2 attempts (HTTP 502).`);
  });

  test('an operation that fails fails the deployment with Neon\'s status', async () => {
    api.operationOutcome = 'failed';
    await expect(run(request('Create'))).rejects.toThrow(
      `Neon operation op-1 (apply_config) on compute ${ENDPOINT} of project ${PROJECT} ended failed: compute failed to apply the configuration. Deploy again`);
  });

  test('an operation still running after 15 minutes fails the deployment instead of outliving the custom resource\'s hour', async () => {
    api.operationOutcome = 'running';
    const event = request('Create');
    const result = await onEvent(event);
    const polled = { ...event, PhysicalResourceId: result.PhysicalResourceId, Data: result.Data };
    await expect(isComplete(polled)).resolves.toEqual({ IsComplete: false });
    const later = Number(result.Data!.RequestedAt) + OPERATION_WAIT_MS + 1;
    jest.spyOn(Date, 'now').mockReturnValue(later);
    await expect(isComplete(polled)).rejects.toThrow(`Neon operations op-1 on compute ${ENDPOINT} of project ${PROJECT} are still running after 15 minutes.`);
  });

  test('a plain http:// base URL is refused before the API key is read', async () => {
    await expect(onEvent(request('Create', { ApiBaseUrl: 'http://console.neon.tech/api/v2' })))
      .rejects.toThrow('Custom::NeonComputeKeepAlive needs an ApiBaseUrl starting with https://.');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  test('a setting outside Neon\'s bounds is refused before any request', async () => {
    await expect(onEvent(request('Create', { SuspendTimeoutSeconds: '30' }))).rejects.toThrow(/must be -1 \(never suspend\) or 60 to 604800/);
    expect(api.received).toHaveLength(0);
  });

  test('the API key is never sent to a server whose certificate is not trusted', async () => {
    delete https.globalAgent.options.ca;
    try {
      neonApiRetry.attempts = 1;
      await expect(onEvent(request('Create'))).rejects.toThrow(/still failing after 1 attempts \(Error: self.signed certificate/);
      expect(api.received).toHaveLength(0);
    } finally {
      https.globalAgent.options.ca = neon.tls.cert;
    }
  });
});
