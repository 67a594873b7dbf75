import * as http from 'http';
import * as https from 'https';
import { AddressInfo } from 'net';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { onEvent, retryPolicy } from '../../lib/network/ip-allow.handler';
import type { ProviderRequest } from '../../lib/provider/handler-types';
import { SelfSigned, selfSignedCertificate } from '../helpers/tls';

const sm = mockClient(SecretsManagerClient);

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-2:123456789012:secret:neon/api-key-AbCdEf';
const API_KEY = 'napi_leakcanary7f3a91xyz';
const PROJECT = 'crimson-sun-12345678';
const PROJECT_PATH = `/api/v2/projects/${PROJECT}`;
const NAT_A = '52.14.1.10';
const NAT_B = '52.14.1.11';

/** One request the stand-in Neon API received. */
interface Received {
  readonly method: string;
  readonly path: string;
  readonly authorization?: string;
  readonly contentType?: string;
  readonly body?: unknown;
}

/** A canned reply served before the stand-in's normal behaviour. */
interface Scripted {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
  /** Drop the connection without a response. */
  readonly destroy?: boolean;
}

/**
 * A local HTTPS server standing in for the Neon API: GET returns the project's allowed IPs, PATCH
 * replaces them, unknown projects answer 404. `script` replies come first, one per request. Its
 * self-signed certificate is trusted by this test process only (`https.globalAgent`).
 */
class FakeNeonApi {
  public readonly received: Received[] = [];
  public readonly projects = new Map<string, { ips: string[]; protected_branches_only?: boolean }>();
  public readonly script: Scripted[] = [];
  private server!: https.Server;
  private port = 0;

  constructor(private readonly tls: SelfSigned) {}

  public get baseUrl(): string {
    return `https://127.0.0.1:${this.port}/api/v2`;
  }

  public async start(): Promise<void> {
    this.server = https.createServer({ cert: this.tls.cert, key: this.tls.key }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  public async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, text: string, res: http.ServerResponse): void {
    this.received.push({
      method: req.method!,
      path: req.url!,
      authorization: req.headers.authorization,
      contentType: req.headers['content-type'],
      body: text ? JSON.parse(text) : undefined,
    });
    const scripted = this.script.shift();
    if (scripted?.destroy) {
      req.socket.destroy();
      return;
    }
    if (scripted) {
      return this.reply(res, scripted.status, scripted.body ?? { message: 'scripted' }, scripted.headers);
    }
    const match = /^\/api\/v2\/projects\/([^/]+)$/.exec(req.url!);
    const project = match ? this.projects.get(decodeURIComponent(match[1])) : undefined;
    if (!match || !project) {
      return this.reply(res, 404, { code: '', message: 'project not found' });
    }
    if (req.method === 'PATCH') {
      const allowed = JSON.parse(text).project.settings.allowed_ips;
      project.ips = allowed.ips;
      if (allowed.protected_branches_only !== undefined) {
        project.protected_branches_only = allowed.protected_branches_only;
      }
      return this.reply(res, 200, { project: { id: match[1], settings: { allowed_ips: project } }, operations: [] });
    }
    return this.reply(res, 200, { project: { id: match[1], name: 'app', settings: { allowed_ips: project } } });
  }

  private reply(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }
}

let api: FakeNeonApi;
let logs: jest.SpyInstance;
const defaultPolicy = { ...retryPolicy };
let tls: SelfSigned;

beforeAll(() => {
  tls = selfSignedCertificate();
  https.globalAgent.options.ca = tls.cert;
});

afterAll(() => {
  delete https.globalAgent.options.ca;
});

beforeEach(async () => {
  api = new FakeNeonApi(tls);
  await api.start();
  sm.reset();
  sm.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: API_KEY });
  Object.assign(retryPolicy, { ...defaultPolicy, baseDelayMs: 5, maxDelayMs: 2000 });
  logs = jest.spyOn(console, 'log').mockImplementation(() => undefined);
});

afterEach(async () => {
  await api.stop();
  expect(JSON.stringify(logs.mock.calls)).not.toContain(API_KEY);
  logs.mockRestore();
});

function request(
  requestType: 'Create' | 'Update' | 'Delete',
  props: Record<string, unknown> = {},
  oldProps?: Record<string, unknown>,
): ProviderRequest {
  const resourceProps = (extra: Record<string, unknown>) => ({
    ServiceToken: 'arn:aws:lambda:us-east-2:123456789012:function:provider',
    ProjectId: PROJECT,
    ApiKeySecretArn: SECRET_ARN,
    ApiBaseUrl: api.baseUrl,
    Ips: [NAT_A],
    AddToEmptyList: 'false',
    ...extra,
  });
  return {
    RequestType: requestType,
    ResourceType: 'Custom::NeonIpAllow',
    LogicalResourceId: 'NetNeonIpAllow9593DA2E',
    StackId: 'arn:aws:cloudformation:us-east-2:123456789012:stack/S/1',
    RequestId: 'b1c2d3e4-1111-2222-3333-444455556666',
    ResourceProperties: resourceProps(props),
    OldResourceProperties: oldProps ? resourceProps(oldProps) : undefined,
    PhysicalResourceId: requestType === 'Create' ? undefined : `neon-ip-allow/${PROJECT}/NetNeonIpAllow9593DA2E`,
  };
}

const GET = { method: 'GET', path: PROJECT_PATH, authorization: `Bearer ${API_KEY}`, contentType: undefined, body: undefined };
function patch(ips: string[], protectedBranchesOnly?: boolean, path = PROJECT_PATH): Received {
  const allowed: Record<string, unknown> = { ips };
  if (protectedBranchesOnly !== undefined) {
    allowed.protected_branches_only = protectedBranchesOnly;
  }
  return {
    method: 'PATCH',
    path,
    authorization: `Bearer ${API_KEY}`,
    contentType: 'application/json',
    body: { project: { settings: { allowed_ips: allowed } } },
  };
}

describe('Create', () => {
  test('reads the list, keeps the entries already there and appends the NAT IPs', async () => {
    api.projects.set(PROJECT, { ips: ['203.0.113.7', '198.51.100.0/24'], protected_branches_only: true });

    const result = await onEvent(request('Create', { Ips: [NAT_A, NAT_B] }));

    expect(api.received).toEqual([GET, patch(['203.0.113.7', '198.51.100.0/24', NAT_A, NAT_B], true)]);
    expect(api.projects.get(PROJECT)!.ips).toEqual(['203.0.113.7', '198.51.100.0/24', NAT_A, NAT_B]);
    expect(result).toEqual({
      PhysicalResourceId: `neon-ip-allow/${PROJECT}/NetNeonIpAllow9593DA2E`,
      Data: { Ips: `${NAT_A},${NAT_B}`, Changed: 'true' },
    });
    expect(JSON.stringify(result)).not.toContain(API_KEY);
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([{ SecretId: SECRET_ARN }]);
  });

  test('reads the API key from a JSON field of the secret', async () => {
    sm.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: JSON.stringify({ NEON_API_KEY: API_KEY, other: 'x' }) });
    api.projects.set(PROJECT, { ips: ['203.0.113.7'] });

    await onEvent(request('Create', { ApiKeySecretField: 'NEON_API_KEY' }));

    expect(api.received).toEqual([GET, patch(['203.0.113.7', NAT_A])]);
  });

  test('a JSON secret without apiKeySecretField is rejected without calling Neon', async () => {
    sm.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: JSON.stringify({ NEON_API_KEY: API_KEY }) });

    const error = await onEvent(request('Create')).catch((e: Error) => e);

    expect((error as Error).message).toBe(`neonIpAllow.apiKeySecret (${SECRET_ARN}) holds JSON: set apiKeySecretField to the field holding the Neon API key.`);
    expect(api.received).toEqual([]);
  });

  test('leaves an empty list (every address allowed) unchanged by default', async () => {
    api.projects.set(PROJECT, { ips: [] });

    const result = await onEvent(request('Create'));

    expect(api.received).toEqual([GET]);
    expect(api.projects.get(PROJECT)!.ips).toEqual([]);
    expect(result.Data).toEqual({ Ips: NAT_A, Changed: 'false' });
  });

  test('restricts an empty list to the NAT IPs with AddToEmptyList', async () => {
    api.projects.set(PROJECT, { ips: [] });

    await onEvent(request('Create', { AddToEmptyList: 'true' }));

    expect(api.received).toEqual([GET, patch([NAT_A])]);
  });

  test('a retried create finds the IPs already present and writes nothing', async () => {
    api.projects.set(PROJECT, { ips: ['203.0.113.7', NAT_A, `${NAT_B}/32`] });

    const result = await onEvent(request('Create', { Ips: [NAT_A, NAT_B] }));

    expect(api.received).toEqual([GET]);
    expect(result.Data).toEqual({ Ips: `${NAT_A},${NAT_B}`, Changed: 'false' });
  });
});

describe('Update', () => {
  test('swaps a changed NAT IP in one write and keeps every other entry', async () => {
    api.projects.set(PROJECT, { ips: ['203.0.113.7', NAT_A] });

    const result = await onEvent(request('Update', { Ips: [NAT_B] }, { Ips: [NAT_A] }));

    expect(api.received).toEqual([GET, patch(['203.0.113.7', NAT_B])]);
    expect(result.PhysicalResourceId).toBe(`neon-ip-allow/${PROJECT}/NetNeonIpAllow9593DA2E`);
  });

  test('keeps an IP that stays when a NAT gateway is added', async () => {
    api.projects.set(PROJECT, { ips: [NAT_A] });

    await onEvent(request('Update', { Ips: [NAT_A, NAT_B] }, { Ips: [NAT_A] }));

    expect(api.received).toEqual([GET, patch([NAT_A, NAT_B])]);
  });

  test('a new project gets the IPs under a new physical id; the old project is left to the Delete', async () => {
    api.projects.set(PROJECT, { ips: [NAT_A] });
    api.projects.set('other-project-87654321', { ips: ['203.0.113.7'] });

    const result = await onEvent(request('Update', { ProjectId: 'other-project-87654321' }, {}));

    expect(api.received).toEqual([
      { ...GET, path: '/api/v2/projects/other-project-87654321' },
      patch(['203.0.113.7', NAT_A], undefined, '/api/v2/projects/other-project-87654321'),
    ]);
    expect(api.projects.get(PROJECT)!.ips).toEqual([NAT_A]);
    expect(result.PhysicalResourceId).toBe('neon-ip-allow/other-project-87654321/NetNeonIpAllow9593DA2E');
  });
});

describe('Delete', () => {
  test('removes only its own IPs', async () => {
    api.projects.set(PROJECT, { ips: ['203.0.113.7', NAT_A, '198.51.100.0/24', NAT_B], protected_branches_only: false });

    const result = await onEvent(request('Delete', { Ips: [NAT_A, NAT_B] }));

    expect(api.received).toEqual([GET, patch(['203.0.113.7', '198.51.100.0/24'], false)]);
    expect(result).toEqual({ PhysicalResourceId: `neon-ip-allow/${PROJECT}/NetNeonIpAllow9593DA2E` });
  });

  test('writes nothing when its IPs are already gone', async () => {
    api.projects.set(PROJECT, { ips: ['203.0.113.7'] });

    await onEvent(request('Delete'));

    expect(api.received).toEqual([GET]);
  });

  test('succeeds when the project no longer exists', async () => {
    await onEvent(request('Delete'));

    expect(api.received).toEqual([GET]);
  });
});

describe('retries and errors', () => {
  test('retries a 429 after the Retry-After delay', async () => {
    api.projects.set(PROJECT, { ips: ['203.0.113.7'] });
    api.script.push({ status: 429, headers: { 'retry-after': '1' }, body: { message: 'rate limited' } });

    const started = Date.now();
    await onEvent(request('Create'));

    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(api.received).toEqual([GET, GET, patch(['203.0.113.7', NAT_A])]);
    expect(api.projects.get(PROJECT)!.ips).toEqual(['203.0.113.7', NAT_A]);
  });

  test('retries a 500 on the write and then succeeds', async () => {
    api.projects.set(PROJECT, { ips: ['203.0.113.7'] });
    api.script.push({ status: 200, body: { project: { settings: { allowed_ips: { ips: ['203.0.113.7'] } } } } });
    api.script.push({ status: 500, body: { message: 'internal error' } });

    await onEvent(request('Create'));

    const expectedPatch = patch(['203.0.113.7', NAT_A], undefined);
    expect(api.received).toEqual([GET, expectedPatch, expectedPatch]);
    expect(api.projects.get(PROJECT)!.ips).toEqual(['203.0.113.7', NAT_A]);
  });

  test('retries a dropped connection', async () => {
    api.projects.set(PROJECT, { ips: [] });
    api.script.push({ status: 0, destroy: true });

    await onEvent(request('Delete'));

    expect(api.received).toEqual([GET, GET]);
  });

  test('gives up after the last attempt with the last status', async () => {
    retryPolicy.attempts = 3;
    api.script.push({ status: 503, body: { message: 'a' } }, { status: 503, body: { message: 'b' } }, { status: 503, body: { message: 'c' } });

    await expect(onEvent(request('Create'))).rejects.toThrow(
      `Neon API GET /projects/${PROJECT} still failing after 3 attempts (HTTP 503).`);
    expect(api.received).toEqual([GET, GET, GET]);
  });

  test('a rejected API key names the secret, not the key', async () => {
    api.script.push({ status: 401, body: { message: 'authentication failed' } });

    const error = await onEvent(request('Create')).catch((e: Error) => e);

    expect((error as Error).message).toBe(`Neon API key rejected (HTTP 401): check the secret ${SECRET_ARN} (neonIpAllow.apiKeySecret) holds a valid Neon API key.`);
    expect(api.received).toEqual([GET]);
  });

  test('an unknown project is reported with its id', async () => {
    await expect(onEvent(request('Create'))).rejects.toThrow(
      `Neon project ${PROJECT} not found (HTTP 404 from ${api.baseUrl}): check neonIpAllow.projectId and that the API key in ${SECRET_ARN} belongs to the account or organization that owns the project.`);
    expect(api.received).toEqual([GET]);
  });

  test('other client errors name the status, never the response body (it may echo what was sent)', async () => {
    api.projects.set(PROJECT, { ips: ['203.0.113.7'] });
    api.script.push({ status: 200, body: { project: { settings: { allowed_ips: { ips: ['203.0.113.7'] } } } } });
    api.script.push({ status: 400, body: { message: `invalid IP address; echo of the request: Bearer ${API_KEY}` } });

    const error = await onEvent(request('Create', { Ips: ['not-an-ip'] })).catch((e: Error) => e);

    expect((error as Error).message).toBe(`Neon API PATCH /projects/${PROJECT} failed with HTTP 400.`);
    expect(JSON.stringify(logs.mock.calls)).not.toContain('echo of the request');
    expect(api.received).toHaveLength(2);
  });

  test('a project whose plan has no IP Allow gets an explanation, not the body', async () => {
    api.projects.set(PROJECT, { ips: ['203.0.113.7'] });
    api.script.push({ status: 200, body: { project: { settings: { allowed_ips: { ips: ['203.0.113.7'] } } } } });
    api.script.push({ status: 403, body: { code: 'FEATURE_NOT_AVAILABLE', message: 'IP allowlist is not available on your current plan' } });

    const error = await onEvent(request('Create')).catch((e: Error) => e);

    expect((error as Error).message).toBe(`Neon refused to change the IP Allow list of project ${PROJECT} (HTTP 403): IP Allow is a feature of Neon's Scale plan `
      + '(https://neon.com/docs/introduction/ip-allow), so a project on another plan cannot restrict addresses. Move the project to a plan with IP Allow, '
      + 'or remove neonIpAllow: without IP Allow, Neon accepts connections from any address, the NAT gateway\'s included.');
    expect((error as Error).message).not.toContain('current plan');
  });

  test('a plain http:// base URL is refused before the API key is read', async () => {
    await expect(onEvent(request('Create', { ApiBaseUrl: 'http://console.neon.tech/api/v2' })))
      .rejects.toThrow('Custom::NeonIpAllow needs an ApiBaseUrl starting with https://.');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  test('the API key is never sent to a server whose certificate is not trusted', async () => {
    delete https.globalAgent.options.ca;
    try {
      retryPolicy.attempts = 1;
      await expect(onEvent(request('Create'))).rejects.toThrow(/still failing after 1 attempts \(Error: self.signed certificate/);
      expect(api.received).toHaveLength(0);
    } finally {
      https.globalAgent.options.ca = tls.cert;
    }
  });
});
