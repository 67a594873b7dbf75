import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { HttpsResponse, httpsRequest } from '../core/https-request';
import type { OnEventResult, ProviderRequest } from '../provider/handler-types';

/**
 * Properties of a `Custom::NeonIpAllow` resource. Only ids, ARNs and addresses: never the API key.
 */
export interface NeonIpAllowProperties {
  /** Neon project id, e.g. `crimson-sun-12345678`. */
  readonly ProjectId: string;
  /** Secret holding the Neon API key (plain, or in a JSON field). */
  readonly ApiKeySecretArn: string;
  /** JSON field of the secret holding the key; absent for a plain string. */
  readonly ApiKeySecretField?: string;
  /** Base URL of the Neon API, e.g. `https://console.neon.tech/api/v2`. */
  readonly ApiBaseUrl: string;
  /** The NAT gateways' Elastic IPs this resource manages. */
  readonly Ips: string[];
  /** 'true' to add the IPs even when the project's list is empty (which allows every address). */
  readonly AddToEmptyList?: string;
}

/**
 * Retry and timeout settings of the Neon API calls. Mutable for tests only.
 * @internal
 */
export const retryPolicy = {
  /** Attempts per request, the first included. */
  attempts: 6,
  /** Delay before the second attempt; doubles with every further attempt. */
  baseDelayMs: 1000,
  /** Upper bound of any delay, `Retry-After` included. */
  maxDelayMs: 30_000,
  /** Timeout of one HTTP request. */
  requestTimeoutMs: 20_000,
};

let client: SecretsManagerClient | undefined;
function secretsManager(): SecretsManagerClient {
  client ??= new SecretsManagerClient({});
  return client;
}

/** During a rollback, updates run as written: its update puts the restored addresses back in the IP Allow list and removes those of the failed update. */
export const rollback = 'run';

/**
 * Adds the NAT Elastic IPs to a Neon project's IP Allow list (Create), swaps changed ones (Update)
 * and removes them again (Delete).
 *
 * Neon's `PATCH /projects/{id}` replaces the whole list, so every change reads the list, merges and
 * writes it back; a list that already holds the result is not written again (retries are safe).
 */
export async function onEvent(event: ProviderRequest): Promise<OnEventResult> {
  const props = parseProperties(event.ResourceProperties);
  const physicalId = `neon-ip-allow/${props.ProjectId}/${event.LogicalResourceId}`;

  switch (event.RequestType) {
    case 'Create': {
      const result = await apply(props, { add: props.Ips, remove: [] });
      return { PhysicalResourceId: physicalId, Data: result };
    }
    case 'Update': {
      const old = event.OldResourceProperties ? parseProperties(event.OldResourceProperties) : undefined;
      if (!old || old.ProjectId !== props.ProjectId) {
        // A new physical id: CloudFormation then deletes the old resource, which removes the old
        // project's entries.
        const result = await apply(props, { add: props.Ips, remove: [] });
        return { PhysicalResourceId: physicalId, Data: result };
      }
      const kept = new Set(props.Ips.map(normalize));
      const remove = old.Ips.filter((ip) => !kept.has(normalize(ip)));
      const result = await apply(props, { add: props.Ips, remove });
      return { PhysicalResourceId: physicalId, Data: result };
    }
    case 'Delete': {
      await apply(props, { add: [], remove: props.Ips, projectMayBeGone: true });
      return { PhysicalResourceId: event.PhysicalResourceId };
    }
  }
}

interface Change {
  readonly add: string[];
  readonly remove: string[];
  /** On delete, a project that no longer exists has nothing left to clean up. */
  readonly projectMayBeGone?: boolean;
}

interface AllowedIps {
  readonly ips: string[];
  readonly protectedBranchesOnly?: boolean;
}

async function apply(props: NeonIpAllowProperties, change: Change): Promise<Record<string, string>> {
  const api = new NeonApi(props, await readApiKey(props));
  const log = { ProjectId: props.ProjectId, Add: change.add, Remove: change.remove };

  const current = await api.getAllowedIps(change.projectMayBeGone ?? false);
  if (current === undefined) {
    console.log('Neon project no longer exists: nothing to remove', JSON.stringify(log));
    return { Ips: props.Ips.join(','), Changed: 'false' };
  }

  if (current.ips.length === 0 && change.add.length > 0 && props.AddToEmptyList !== 'true') {
    console.log('The project\'s IP Allow list is empty, which allows every address: left unchanged (set addToEmptyList to restrict it)', JSON.stringify(log));
    return { Ips: props.Ips.join(','), Changed: 'false' };
  }

  const removed = new Set(change.remove.map(normalize));
  const next = current.ips.filter((ip) => !removed.has(normalize(ip)));
  for (const ip of change.add) {
    if (!next.some((existing) => normalize(existing) === normalize(ip))) {
      next.push(ip);
    }
  }

  if (sameList(next, current.ips)) {
    console.log('IP Allow list already up to date', JSON.stringify({ ...log, AllowedIps: current.ips }));
    return { Ips: props.Ips.join(','), Changed: 'false' };
  }

  await api.setAllowedIps({ ips: next, protectedBranchesOnly: current.protectedBranchesOnly });
  console.log('Updated IP Allow list', JSON.stringify({ ...log, Before: current.ips, After: next }));
  if (next.length === 0) {
    console.log(`The IP Allow list of Neon project ${props.ProjectId} is now empty, which allows connections from every address.`);
  }
  return { Ips: props.Ips.join(','), Changed: 'true' };
}

/** The Neon API calls this resource makes, with retries on 423, 429 and 5xx. */
class NeonApi {
  private readonly baseUrl: string;

  constructor(private readonly props: NeonIpAllowProperties, private readonly apiKey: string) {
    this.baseUrl = props.ApiBaseUrl.replace(/\/+$/, '');
  }

  /** The project's allowed IPs; undefined for a missing project when `missingOk`. */
  public async getAllowedIps(missingOk: boolean): Promise<AllowedIps | undefined> {
    const body = await this.request('GET', undefined, missingOk);
    if (body === undefined) {
      return undefined;
    }
    const allowed = (body as any)?.project?.settings?.allowed_ips;
    const ips = Array.isArray(allowed?.ips) ? allowed.ips.filter((ip: unknown): ip is string => typeof ip === 'string') : [];
    const protectedBranchesOnly = typeof allowed?.protected_branches_only === 'boolean' ? allowed.protected_branches_only : undefined;
    return { ips, protectedBranchesOnly };
  }

  /** Replaces the project's allowed IPs, keeping its `protected_branches_only` setting. */
  public async setAllowedIps(allowed: AllowedIps): Promise<void> {
    const allowedIps: Record<string, unknown> = { ips: allowed.ips };
    if (allowed.protectedBranchesOnly !== undefined) {
      allowedIps.protected_branches_only = allowed.protectedBranchesOnly;
    }
    await this.request('PATCH', { project: { settings: { allowed_ips: allowedIps } } }, false);
  }

  private async request(method: 'GET' | 'PATCH', body: unknown, missingOk: boolean): Promise<unknown> {
    const path = `/projects/${encodeURIComponent(this.props.ProjectId)}`;
    const url = `${this.baseUrl}${path}`;
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.apiKey}`,
      Accept: 'application/json',
    };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
    }

    let lastFailure = '';
    for (let attempt = 1; attempt <= retryPolicy.attempts; attempt++) {
      let response: HttpsResponse;
      try {
        response = await httpsRequest(url, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          timeoutMs: retryPolicy.requestTimeoutMs,
        });
      } catch (e) {
        lastFailure = `${(e as Error).name}: ${(e as Error).message}`;
        if (attempt < retryPolicy.attempts) {
          const delay = backoff(attempt);
          console.log(`Neon API ${method} ${path} failed (${lastFailure}); retrying in ${delay} ms`);
          await sleep(delay);
          continue;
        }
        break;
      }

      if (response.status >= 200 && response.status < 300) {
        return response.text.length > 0 ? JSON.parse(response.text) : {};
      }
      if (isRetryable(response.status)) {
        lastFailure = `HTTP ${response.status}`;
        if (attempt < retryPolicy.attempts) {
          const header = response.headers['retry-after'];
          const delay = retryAfter(typeof header === 'string' ? header : null) ?? backoff(attempt);
          console.log(`Neon API ${method} ${path} returned HTTP ${response.status}; retrying in ${delay} ms`);
          await sleep(delay);
          continue;
        }
        break;
      }
      if (response.status === 404 && missingOk) {
        return undefined;
      }
      throw this.errorFor(method, path, response.status, response.text);
    }
    throw new Error(`Neon API ${method} ${path} still failing after ${retryPolicy.attempts} attempts (${lastFailure}).`);
  }

  /**
   * The error for a refused request. Response bodies are read to tell causes apart, never copied into
   * the error or the logs: they may echo what was sent.
   */
  private errorFor(method: string, path: string, status: number, text: string): Error {
    const project = this.props.ProjectId;
    if (method === 'PATCH' && status >= 400 && status < 500 && status !== 401 && status !== 404 && mentionsPlan(text)) {
      return new Error(`Neon refused to change the IP Allow list of project ${project} (HTTP ${status}): IP Allow is a feature of Neon's Scale plan `
        + '(https://neon.com/docs/introduction/ip-allow), so a project on another plan cannot restrict addresses. Move the project to a plan with IP Allow, '
        + 'or remove neonIpAllow: without IP Allow, Neon accepts connections from any address, the NAT gateway\'s included.');
    }
    switch (status) {
      case 401:
        return new Error(`Neon API key rejected (HTTP 401): check the secret ${describeSecret(this.props)} (neonIpAllow.apiKeySecret) holds a valid Neon API key.`);
      case 403:
        return new Error(`Neon API key may not manage project ${project} (HTTP 403): use an API key of the account or organization that owns the project (neonIpAllow.apiKeySecret, ${describeSecret(this.props)}).`);
      case 404:
        return new Error(`Neon project ${project} not found (HTTP 404 from ${this.baseUrl}): check neonIpAllow.projectId and that the API key in ${describeSecret(this.props)} belongs to the account or organization that owns the project.`);
      default:
        return new Error(`Neon API ${method} ${path} failed with HTTP ${status}.`);
    }
  }
}

async function readApiKey(props: NeonIpAllowProperties): Promise<string> {
  const source = describeSecret(props);
  const result = await secretsManager().send(new GetSecretValueCommand({ SecretId: props.ApiKeySecretArn }));
  const value = result.SecretString;
  if (value === undefined) {
    throw new Error(`neonIpAllow.apiKeySecret (${source}) holds binary data; store the Neon API key as a secret string.`);
  }
  const field = props.ApiKeySecretField;
  let key: unknown = value;
  if (field) {
    let json: unknown;
    try {
      json = JSON.parse(value);
    } catch {
      throw new Error(`neonIpAllow.apiKeySecret (${source}) is not JSON, so it has no field '${field}': omit apiKeySecretField when the secret holds the plain API key.`);
    }
    key = json !== null && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>)[field] : undefined;
    if (typeof key !== 'string') {
      throw new Error(`neonIpAllow.apiKeySecret (${source}) has no string field '${field}': set apiKeySecretField to the field holding the Neon API key.`);
    }
  } else if (value.trim().startsWith('{')) {
    throw new Error(`neonIpAllow.apiKeySecret (${source}) holds JSON: set apiKeySecretField to the field holding the Neon API key.`);
  }
  const trimmed = (key as string).trim();
  if (trimmed.length === 0 || /\s/.test(trimmed)) {
    throw new Error(`neonIpAllow.apiKeySecret (${source}) does not hold a Neon API key (empty or containing whitespace).`);
  }
  return trimmed;
}

function parseProperties(raw: Record<string, any>): NeonIpAllowProperties {
  const ips: unknown = raw.Ips;
  if (typeof raw.ProjectId !== 'string' || raw.ProjectId.length === 0) {
    throw new Error('Custom::NeonIpAllow needs a ProjectId.');
  }
  if (!Array.isArray(ips) || ips.some((ip) => typeof ip !== 'string' || ip.length === 0)) {
    throw new Error('Custom::NeonIpAllow needs Ips, a list of IP addresses.');
  }
  // the API key goes with every request: never over plain HTTP
  if (typeof raw.ApiBaseUrl !== 'string' || !/^https:\/\//.test(raw.ApiBaseUrl)) {
    throw new Error('Custom::NeonIpAllow needs an ApiBaseUrl starting with https://.');
  }
  return {
    ProjectId: raw.ProjectId,
    ApiKeySecretArn: raw.ApiKeySecretArn,
    ApiKeySecretField: raw.ApiKeySecretField || undefined,
    ApiBaseUrl: raw.ApiBaseUrl,
    Ips: ips as string[],
    AddToEmptyList: raw.AddToEmptyList,
  };
}

/** A single address and its /32 are the same entry. */
function normalize(ip: string): string {
  return ip.trim().replace(/\/32$/, '');
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((ip, i) => ip === b[i]);
}

function isRetryable(status: number): boolean {
  // 423: the project has operations running and is locked for changes for a moment.
  return status === 423 || status === 429 || status >= 500;
}

function backoff(attempt: number): number {
  return Math.min(retryPolicy.baseDelayMs * 2 ** (attempt - 1), retryPolicy.maxDelayMs);
}

/** Milliseconds from a `Retry-After` header (seconds or an HTTP date), capped. */
function retryAfter(header: string | null): number | undefined {
  if (header === null || header.trim() === '') {
    return undefined;
  }
  const seconds = Number(header);
  let ms: number;
  if (Number.isFinite(seconds)) {
    ms = seconds * 1000;
  } else {
    const date = Date.parse(header);
    if (Number.isNaN(date)) {
      return undefined;
    }
    ms = date - Date.now();
  }
  return Math.min(Math.max(ms, 0), retryPolicy.maxDelayMs);
}

/** Whether an error response says the project's plan lacks the feature (Neon documents no error shape for it). */
function mentionsPlan(text: string): boolean {
  return /\bplan\b|upgrade|not available|not supported|feature/i.test(text);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Secret ARN and field: what the user needs to find the secret, nothing of its value. */
function describeSecret(props: NeonIpAllowProperties): string {
  return props.ApiKeySecretField ? `${props.ApiKeySecretArn}, field ${props.ApiKeySecretField}` : props.ApiKeySecretArn;
}
