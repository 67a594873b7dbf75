import * as http from 'http';
import * as https from 'https';
import { AddressInfo } from 'net';
import { SelfSigned, selfSignedCertificate } from '../helpers/tls';

/** One request the stand-in Neon API received. */
export interface NeonRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization?: string;
  readonly contentType?: string;
  readonly body?: unknown;
}

/** A canned reply served before the stand-in's own behaviour, one per request. */
export interface NeonScripted {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
  /** Drop the connection without a response. */
  readonly destroy?: boolean;
}

/** A Neon compute endpoint as the stand-in keeps it. */
export interface FakeEndpoint {
  branch_id: string;
  suspend_timeout_seconds?: number;
  current_state?: string;
}

/** A Neon project as the stand-in keeps it. */
export interface FakeProject {
  /** `free` refuses any change of the scale-to-zero setting, the way the Free plan does. */
  plan: 'free' | 'launch' | 'scale';
  branch_logical_size_limit_bytes?: number;
  quota_logical_size_bytes?: number;
  endpoints: Record<string, FakeEndpoint>;
  /** Logical size of each branch, by id. */
  branches: Record<string, number>;
}

/**
 * A local HTTPS server standing in for the Neon API v2: projects, their compute endpoints (GET, and
 * PATCH of `suspend_timeout_seconds`, which starts an operation that is `running` at its first look
 * and `finished` from then on), branches and operations; unknown ids answer 404. A `free` project
 * refuses a changed scale-to-zero setting with a 4xx that speaks of the plan. `script` replies come
 * first. Its self-signed certificate is trusted by the test process only (`https.globalAgent`).
 */
export class FakeNeonApi {
  public readonly received: NeonRequest[] = [];
  public readonly script: NeonScripted[] = [];
  public readonly projects = new Map<string, FakeProject>();
  /** Operations started, by id: how often they were looked at, and the status they end with. */
  public readonly operations = new Map<string, { action: string; looks: number; ends: string; error?: string }>();
  /** The status the next operations end with (`finished`, `failed`, ...); `running` keeps them running. */
  public operationOutcome = 'finished';
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

  /** The requests received, as `METHOD path` strings. */
  public calls(): string[] {
    return this.received.map((r) => `${r.method} ${r.path}`);
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
    const parts = req.url!.replace(/^\/api\/v2\//, '').split('/').map(decodeURIComponent);
    const project = parts[0] === 'projects' ? this.projects.get(parts[1]) : undefined;
    if (!project) {
      return this.reply(res, 404, { code: '', message: 'project not found' });
    }
    const projectId = parts[1];
    if (parts.length === 2 && req.method === 'GET') {
      const settings = project.quota_logical_size_bytes === undefined ? {} : { quota: { logical_size_bytes: project.quota_logical_size_bytes } };
      const limit = project.branch_logical_size_limit_bytes ?? 0;
      return this.reply(res, 200, { project: { id: projectId, branch_logical_size_limit_bytes: limit, settings } });
    }
    if (parts[2] === 'branches' && parts.length === 4 && project.branches[parts[3]] !== undefined) {
      return this.reply(res, 200, { branch: { id: parts[3], project_id: projectId, logical_size: project.branches[parts[3]] } });
    }
    if (parts[2] === 'operations' && parts.length === 4 && this.operations.has(parts[3])) {
      const op = this.operations.get(parts[3])!;
      op.looks++;
      const status = op.looks > 1 ? op.ends : 'running';
      const error = status === op.ends ? op.error : undefined;
      return this.reply(res, 200, { operation: { id: parts[3], project_id: projectId, action: op.action, status, error } });
    }
    const endpoint = parts[2] === 'endpoints' && parts.length === 4 ? project.endpoints[parts[3]] : undefined;
    if (!endpoint) {
      return this.reply(res, 404, { code: '', message: 'not found' });
    }
    const view = () => ({
      id: parts[3],
      project_id: projectId,
      branch_id: endpoint.branch_id,
      current_state: endpoint.current_state ?? 'active',
      suspend_timeout_seconds: endpoint.suspend_timeout_seconds ?? 0,
    });
    if (req.method === 'PATCH') {
      const wanted = JSON.parse(text).endpoint.suspend_timeout_seconds;
      if (project.plan === 'free' && wanted !== (endpoint.suspend_timeout_seconds ?? 0)) {
        return this.reply(res, 400, { code: '', message: 'Scale to zero settings are not available on the Free plan: upgrade your plan' });
      }
      endpoint.suspend_timeout_seconds = wanted;
      const id = `op-${this.operations.size + 1}`;
      this.operations.set(id, { action: 'apply_config', looks: 0, ends: this.operationOutcome, error: this.operationOutcome === 'failed' ? 'compute failed to apply the configuration' : undefined });
      return this.reply(res, 200, { endpoint: view(), operations: [{ id, project_id: projectId, endpoint_id: parts[3], action: 'apply_config', status: 'scheduling' }] });
    }
    return this.reply(res, 200, { endpoint: view() });
  }

  private reply(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }
}

/** The stand-in of the running test, and the certificate this process trusts for it. */
export interface FakeNeonApiContext {
  readonly api: FakeNeonApi;
  readonly tls: SelfSigned;
}

/**
 * Registers jest hooks in the calling scope: a certificate trusted by this process for the whole
 * scope, and a fresh stand-in Neon API started before each test and stopped after it.
 */
export function fakeNeonApiPerTest(): FakeNeonApiContext {
  const context = {} as { api: FakeNeonApi; tls: SelfSigned };
  beforeAll(() => {
    context.tls = selfSignedCertificate();
    https.globalAgent.options.ca = context.tls.cert;
  });
  afterAll(() => {
    delete https.globalAgent.options.ca;
  });
  beforeEach(async () => {
    context.api = new FakeNeonApi(context.tls);
    await context.api.start();
  });
  afterEach(async () => {
    await context.api.stop();
  });
  return context;
}
