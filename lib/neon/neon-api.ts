import { HttpsResponse, httpsRequest } from '../core/https-request';

/*
 * A small client of the Neon API (https://neon.com/docs/reference/api): Bearer API key, HTTPS only
 * (Node's `https`, the certificate verified), retries on 423 (the project is locked by a running
 * operation), 429 and 5xx, and errors that name the request and its status but never copy a response
 * body (it may echo what was sent). Used by the deploy-time handlers and the preflight; imports
 * nothing from aws-cdk-lib or the AWS SDK.
 */

/** The Neon API this project reaches unless told otherwise. */
export const DEFAULT_NEON_API_BASE_URL = 'https://console.neon.tech/api/v2';

/**
 * Retry and timeout settings of the Neon API calls. Mutable for tests only.
 * @internal
 */
export const neonApiRetry = {
  /** Attempts per request, the first included. */
  attempts: 6,
  /** Delay before the second attempt; doubles with every further attempt. */
  baseDelayMs: 1000,
  /** Upper bound of any delay, `Retry-After` included. */
  maxDelayMs: 30_000,
  /** Timeout of one HTTP request. */
  requestTimeoutMs: 20_000,
};

/** Where to reach the Neon API, and with which key (held in memory only). */
export interface NeonApiAccess {
  /** Base URL, e.g. `https://console.neon.tech/api/v2`. */
  readonly baseUrl: string;
  /** The API key. Never logged, never part of an error. */
  readonly apiKey: string;
}

/** A refused request: its status and whether the answer speaks of the plan (the body itself is not kept). */
export class NeonApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    /** The response mentions the plan or an unavailable feature (Neon documents no error shape for it). */
    readonly refusedByPlan: boolean,
  ) {
    super(`Neon API ${method} ${path} failed with HTTP ${status}.`);
    this.name = 'NeonApiError';
  }
}

/** Requests to one Neon API, retried where Neon asks to come back later. */
export class NeonApiClient {
  private readonly baseUrl: string;

  constructor(private readonly access: NeonApiAccess) {
    // the API key goes with every request: never over plain HTTP
    if (!/^https:\/\/[^/\s]+/.test(access.baseUrl)) {
      throw new Error(`The Neon API base URL must start with https:// (got '${access.baseUrl}'): the API key is sent with every request.`);
    }
    this.baseUrl = access.baseUrl.replace(/\/+$/, '');
  }

  /** The base URL requests go to, for messages. */
  public get url(): string {
    return this.baseUrl;
  }

  /** GET `path`; undefined when it answers 404 and `missingOk`. */
  public async get(path: string, missingOk = false): Promise<any> {
    return this.send('GET', path, undefined, missingOk);
  }

  /** PATCH `path` with the JSON `body`. */
  public async patch(path: string, body: unknown): Promise<any> {
    return this.send('PATCH', path, body, false);
  }

  private async send(method: 'GET' | 'PATCH', path: string, body: unknown, missingOk: boolean): Promise<any> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.access.apiKey}`, Accept: 'application/json' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
    }
    let lastFailure = '';
    for (let attempt = 1; attempt <= neonApiRetry.attempts; attempt++) {
      let response: HttpsResponse | undefined;
      try {
        response = await httpsRequest(`${this.baseUrl}${path}`, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          timeoutMs: neonApiRetry.requestTimeoutMs,
        });
      } catch (e) {
        lastFailure = `${(e as Error).name}: ${(e as Error).message}`;
      }
      if (response && response.status >= 200 && response.status < 300) {
        return response.text.length > 0 ? JSON.parse(response.text) : {};
      }
      if (response && response.status === 404 && missingOk) {
        return undefined;
      }
      if (response && !retryable(response.status)) {
        throw new NeonApiError(method, path, response.status, speaksOfPlan(response.text));
      }
      if (response) {
        lastFailure = `HTTP ${response.status}`;
      }
      if (attempt < neonApiRetry.attempts) {
        const header = response?.headers['retry-after'];
        const delay = retryAfter(typeof header === 'string' ? header : undefined) ?? backoff(attempt);
        console.log(`Neon API ${method} ${path}: ${lastFailure}; retrying in ${delay} ms`);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
    throw new Error(`Neon API ${method} ${path} still failing after ${neonApiRetry.attempts} attempts (${lastFailure}).`);
  }
}

/** 423: the project has operations running and is locked for changes for a moment. */
function retryable(status: number): boolean {
  return status === 423 || status === 429 || status >= 500;
}

function backoff(attempt: number): number {
  return Math.min(neonApiRetry.baseDelayMs * 2 ** (attempt - 1), neonApiRetry.maxDelayMs);
}

/** Milliseconds from a `Retry-After` header (seconds or an HTTP date), capped. */
function retryAfter(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '') {
    return undefined;
  }
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
  return Number.isNaN(ms) ? undefined : Math.min(Math.max(ms, 0), neonApiRetry.maxDelayMs);
}

function speaksOfPlan(text: string): boolean {
  return /\bplan\b|upgrade|not available|not supported|feature/i.test(text);
}

/** The storage of the branch a Neon compute endpoint runs on, as the Neon API reports it. */
export interface NeonBranchStorage {
  /** The branch (`br-...`) the endpoint belongs to. */
  readonly branchId: string;
  /** The branch's logical size now, in bytes. */
  readonly usedBytes: number;
  /**
   * The lowest limit on the branch's logical size: the project's `branch_logical_size_limit_bytes`
   * (set by the plan) or its `settings.quota.logical_size_bytes` (set by the owner, 0 = unlimited).
   * Undefined when neither is set.
   */
  readonly limitBytes?: number;
  /** Which setting `limitBytes` comes from. */
  readonly limitSource?: string;
}

/**
 * The storage of the branch of endpoint `endpointId` in project `projectId`: the endpoint names its
 * branch, the project its limits, the branch its logical size.
 */
export async function neonBranchStorage(client: NeonApiClient, projectId: string, endpointId: string): Promise<NeonBranchStorage> {
  const endpoint = (await client.get(`/projects/${encodeURIComponent(projectId)}/endpoints/${encodeURIComponent(endpointId)}`))?.endpoint;
  const branchId = endpoint?.branch_id;
  if (typeof branchId !== 'string') {
    throw new Error(`The Neon API did not name the branch of endpoint ${endpointId} (project ${projectId}).`);
  }
  return neonBranchStorageOf(client, projectId, branchId);
}

/** The storage of branch `branchId` of project `projectId`: the project names its limits, the branch its logical size. */
export async function neonBranchStorageOf(client: NeonApiClient, projectId: string, branchId: string): Promise<NeonBranchStorage> {
  const project = encodeURIComponent(projectId);
  const projectBody = await client.get(`/projects/${project}`);
  const branchBody = await client.get(`/projects/${project}/branches/${encodeURIComponent(branchId)}`);
  const limits: Array<[number, string]> = [];
  const planLimit = Number(projectBody?.project?.branch_logical_size_limit_bytes);
  if (Number.isFinite(planLimit) && planLimit > 0) {
    limits.push([planLimit, 'branch_logical_size_limit_bytes of the project (its plan)']);
  }
  const quota = Number(projectBody?.project?.settings?.quota?.logical_size_bytes);
  if (Number.isFinite(quota) && quota > 0) {
    limits.push([quota, 'settings.quota.logical_size_bytes of the project']);
  }
  const lowest = limits.sort((a, b) => a[0] - b[0])[0];
  const used = Number(branchBody?.branch?.logical_size ?? 0);
  return {
    branchId,
    usedBytes: Number.isFinite(used) ? used : 0,
    limitBytes: lowest?.[0],
    limitSource: lowest?.[1],
  };
}
