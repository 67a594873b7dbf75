// The AWS SDK comes from the Lambda runtime: the handler bundles mark it external.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { NeonApiClient, NeonApiError, neonBranchStorageOf } from '../neon/neon-api';
import type { IsCompleteResult, OnEventResult, ProviderRequest } from '../provider/handler-types';

/**
 * Properties of a `Custom::NeonComputeKeepAlive` resource (CloudFormation passes every value as a
 * string). Only ids, ARNs and settings: never the API key.
 */
export interface NeonComputeKeepAliveProperties {
  /** Neon project id, e.g. `crimson-sun-12345678`. */
  readonly ProjectId: string;
  /** The compute endpoint DMS writes to, e.g. `ep-cool-darkness-123456`. */
  readonly EndpointId: string;
  /** Secret holding the Neon API key (plain, or in a JSON field). */
  readonly ApiKeySecretArn: string;
  /** JSON field of the secret holding the key; absent for a plain string. */
  readonly ApiKeySecretField?: string;
  /** Base URL of the Neon API, e.g. `https://console.neon.tech/api/v2`. */
  readonly ApiBaseUrl: string;
  /** `suspend_timeout_seconds` while the migration runs: `-1` (never suspend) or 60 to 604800. */
  readonly SuspendTimeoutSeconds: string;
}

/** The construct property the API key secret is given as, named in messages. */
const KEY_PROPERTY = 'neonCompute.apiKeySecret';

/** How long isComplete waits for Neon's operations on the endpoint (they take seconds). */
export const OPERATION_WAIT_MS = 15 * 60 * 1000;

/** During a rollback, updates run as written: its update brings the compute's restored setting back. */
export const rollback = 'run';

/** Operation statuses after which nothing more happens, and which of them are a success. */
const DONE = new Set(['finished', 'skipped']);
const FAILED = new Set(['failed', 'error', 'cancelled']);

/*
 * Keeps a Neon compute from suspending while a migration runs, and gives it its setting back after.
 *
 * Create: reads the endpoint's `suspend_timeout_seconds`, writes the migration's value with
 * `PATCH /projects/{project_id}/endpoints/{endpoint_id}` (unless it already has it) and keeps the
 * value it found in the physical id, which every later request carries. isComplete waits for the
 * operations the update started. Update: the same on the same endpoint (a value changed by hand is
 * written again); another project or endpoint gets a new physical id, and CloudFormation's Delete of
 * the old one restores the old endpoint. Delete: writes the value found at Create back, unless
 * someone changed the setting since (then it is left as it is) or the endpoint is gone.
 */
export async function onEvent(event: ProviderRequest): Promise<OnEventResult> {
  const props = parseProperties(event.ResourceProperties);
  switch (event.RequestType) {
    case 'Create':
      return keepActive(props, undefined);
    case 'Update': {
      const old = event.OldResourceProperties ? parseProperties(event.OldResourceProperties) : undefined;
      const sameCompute = old !== undefined && old.ProjectId === props.ProjectId && old.EndpointId === props.EndpointId;
      return keepActive(props, sameCompute ? restoreValue(event.PhysicalResourceId) : undefined);
    }
    case 'Delete':
      return restore(props, event.PhysicalResourceId!);
  }
}

export async function isComplete(event: ProviderRequest): Promise<IsCompleteResult> {
  const operations = String(event.Data?.Operations ?? '').split(',').filter((id) => id.length > 0);
  if (operations.length === 0) {
    return { IsComplete: true };
  }
  const props = parseProperties(event.ResourceProperties);
  const api = await client(props);
  const pending: string[] = [];
  for (const id of operations) {
    const operation = (await api.get(`/projects/${encodeURIComponent(props.ProjectId)}/operations/${encodeURIComponent(id)}`))?.operation ?? {};
    const status = String(operation.status ?? 'unknown');
    console.log(`Neon operation ${id} (${operation.action ?? 'unknown action'}) of ${props.EndpointId}: ${status}`);
    if (FAILED.has(status)) {
      const detail = typeof operation.error === 'string' && operation.error ? `: ${operation.error.slice(0, 300)}` : '';
      throw new Error(`Neon operation ${id} (${operation.action ?? 'update'}) on compute ${props.EndpointId} of project ${props.ProjectId} ended ${status}${detail}. `
        + 'Deploy again; if it fails again, check the compute in the Neon console (Branches, Computes).');
    }
    if (!DONE.has(status)) {
      pending.push(id);
    }
  }
  if (pending.length === 0) {
    return { IsComplete: true };
  }
  const requestedAt = Number(event.Data?.RequestedAt ?? Date.now());
  if (Date.now() - requestedAt > OPERATION_WAIT_MS) {
    throw new Error(`Neon operations ${pending.join(', ')} on compute ${props.EndpointId} of project ${props.ProjectId} are still running after `
      + `${OPERATION_WAIT_MS / 60_000} minutes. Check them in the Neon console (project, Operations) and deploy again once they finished.`);
  }
  return { IsComplete: false };
}

/** Writes the migration's setting; `restoreTo` is what an earlier request found (undefined: read it now). */
async function keepActive(props: NeonComputeKeepAliveProperties, restoreTo: number | undefined): Promise<OnEventResult> {
  const api = await client(props);
  const endpoint = await readEndpoint(api, props, false);
  const current = suspendTimeoutOf(endpoint);
  const found = restoreTo ?? current;
  const physicalId = `neon-compute/${props.ProjectId}/${props.EndpointId}/restore=${found}`;
  const desired = Number(props.SuspendTimeoutSeconds);
  const log = { ProjectId: props.ProjectId, EndpointId: props.EndpointId, Current: current, Desired: desired, RestoreTo: found };
  let operations: string[] = [];
  if (current === desired) {
    console.log('The compute already has the migration\'s scale-to-zero setting', JSON.stringify(log));
  } else {
    try {
      operations = await patch(api, props, desired);
    } catch (e) {
      throw explain(e, props, api, true);
    }
    console.log('Scale-to-zero setting of the compute changed for the migration', JSON.stringify(log));
  }
  return { PhysicalResourceId: physicalId, Data: { ...data(operations, desired, found), ...await storageOf(api, props, endpoint?.branch_id) } };
}

/**
 * The branch's size and limit, for the preflight's storage check (which runs inside the VPC, where
 * the Neon API is out of reach): best effort, empty when the API does not answer.
 */
async function storageOf(api: NeonApiClient, props: NeonComputeKeepAliveProperties, branchId: unknown): Promise<Record<string, string>> {
  try {
    if (typeof branchId !== 'string') {
      throw new Error(`the Neon API named no branch of ${props.EndpointId}`);
    }
    const storage = await neonBranchStorageOf(api, props.ProjectId, branchId);
    return {
      BranchId: storage.branchId,
      BranchLogicalSizeBytes: String(storage.usedBytes),
      BranchLogicalSizeLimitBytes: storage.limitBytes === undefined ? '' : String(storage.limitBytes),
      BranchLogicalSizeLimitSource: storage.limitSource ?? '',
    };
  } catch (e) {
    console.log(`The branch's storage could not be read: ${(e as Error).message}`);
    return { BranchId: '', BranchLogicalSizeBytes: '', BranchLogicalSizeLimitBytes: '', BranchLogicalSizeLimitSource: '' };
  }
}

async function restore(props: NeonComputeKeepAliveProperties, physicalId: string): Promise<OnEventResult> {
  const restoreTo = restoreValue(physicalId);
  const desired = Number(props.SuspendTimeoutSeconds);
  if (restoreTo === undefined) {
    console.log(`${physicalId}: no setting recorded to restore`);
    return { PhysicalResourceId: physicalId, Data: data([], desired, undefined) };
  }
  const api = await client(props);
  const endpoint = await readEndpoint(api, props, true);
  const current = endpoint === undefined ? undefined : suspendTimeoutOf(endpoint);
  const log = { ProjectId: props.ProjectId, EndpointId: props.EndpointId, Current: current, RestoreTo: restoreTo };
  if (current === undefined) {
    console.log('The Neon project or compute no longer exists: nothing to restore', JSON.stringify(log));
    return { PhysicalResourceId: physicalId, Data: data([], desired, restoreTo) };
  }
  if (current !== desired) {
    console.log('The scale-to-zero setting was changed since the migration set it: left as it is', JSON.stringify(log));
    return { PhysicalResourceId: physicalId, Data: data([], desired, restoreTo) };
  }
  try {
    const operations = await patch(api, props, restoreTo);
    console.log('Scale-to-zero setting of the compute restored', JSON.stringify(log));
    return { PhysicalResourceId: physicalId, Data: data(operations, desired, restoreTo) };
  } catch (e) {
    if (e instanceof NeonApiError && e.refusedByPlan && e.status >= 400 && e.status < 500 && e.status !== 401 && e.status !== 404) {
      // a project moved to the Free plan meanwhile suspends after 5 minutes whatever is written
      console.log(`Neon refused the restore (HTTP ${e.status}, the plan): the compute follows the plan's fixed setting`, JSON.stringify(log));
      return { PhysicalResourceId: physicalId, Data: data([], desired, restoreTo) };
    }
    throw explain(e, props, api, false);
  }
}

function data(operations: string[], desired: number, restoreTo: number | undefined): Record<string, string> {
  return {
    Operations: operations.join(','),
    SuspendTimeoutSeconds: String(desired),
    RestoreSuspendTimeoutSeconds: restoreTo === undefined ? '' : String(restoreTo),
    RequestedAt: String(Date.now()),
  };
}

/** The endpoint as the Neon API describes it; undefined for a missing endpoint when `missingOk`. */
async function readEndpoint(api: NeonApiClient, props: NeonComputeKeepAliveProperties, missingOk: boolean): Promise<any> {
  try {
    return (await api.get(endpointPath(props), missingOk))?.endpoint ?? (missingOk ? undefined : {});
  } catch (e) {
    throw explain(e, props, api, false);
  }
}

/** The endpoint's `suspend_timeout_seconds` (0: the project's default). */
function suspendTimeoutOf(endpoint: any): number {
  const value = Number(endpoint?.suspend_timeout_seconds ?? 0);
  return Number.isFinite(value) ? value : 0;
}

/** Writes `seconds`; the ids of the operations Neon started (none when nothing had to change). */
async function patch(api: NeonApiClient, props: NeonComputeKeepAliveProperties, seconds: number): Promise<string[]> {
  const body = await api.patch(endpointPath(props), { endpoint: { suspend_timeout_seconds: seconds } });
  const operations: unknown[] = Array.isArray(body?.operations) ? body.operations : [];
  return operations
    .filter((op): op is { id: string; status?: string } => typeof (op as { id?: unknown })?.id === 'string')
    .filter((op) => !DONE.has(String(op.status)))
    .map((op) => op.id);
}

function endpointPath(props: NeonComputeKeepAliveProperties): string {
  return `/projects/${encodeURIComponent(props.ProjectId)}/endpoints/${encodeURIComponent(props.EndpointId)}`;
}

async function client(props: NeonComputeKeepAliveProperties): Promise<NeonApiClient> {
  return new NeonApiClient({ baseUrl: props.ApiBaseUrl, apiKey: await readNeonApiKey(props.ApiKeySecretArn, props.ApiKeySecretField, KEY_PROPERTY) });
}

/** The setting recorded in the physical id at Create. */
export function restoreValue(physicalId: string | undefined): number | undefined {
  const match = /\/restore=(-?\d+)$/.exec(physicalId ?? '');
  return match ? Number(match[1]) : undefined;
}

/** The error for a refused request, saying what to do. */
function explain(e: unknown, props: NeonComputeKeepAliveProperties, api: NeonApiClient, writing: boolean): Error {
  if (!(e instanceof NeonApiError)) {
    return e as Error;
  }
  const source = props.ApiKeySecretField ? `${props.ApiKeySecretArn}, field ${props.ApiKeySecretField}` : props.ApiKeySecretArn;
  const project = props.ProjectId;
  if (writing && e.refusedByPlan && e.status >= 400 && e.status < 500 && e.status !== 401 && e.status !== 404) {
    return new Error(`Neon refused to change the scale-to-zero setting of compute ${props.EndpointId} (HTTP ${e.status}): on Neon's Free plan a compute `
      + 'suspends after 5 idle minutes and that cannot be changed; the Launch plan can turn scale to zero off, only the Scale plan can set another delay '
      + '(https://neon.com/docs/guides/scale-to-zero-guide). Move the project to a paid plan (or leave suspendTimeout out below the Scale plan), '
      + 'or remove neonCompute: DMS then reconnects each time the compute suspends, retrying as the task\'s RecoverableErrorCount allows.');
  }
  switch (e.status) {
    case 401:
      return new Error(`Neon API key rejected (HTTP 401): check the secret ${source} (${KEY_PROPERTY}) holds a valid Neon API key.`);
    case 403:
      return new Error(`Neon API key may not manage project ${project} (HTTP 403): use an API key of the account or organization that owns the project (${KEY_PROPERTY}, ${source}).`);
    case 404:
      return new Error(`Neon compute ${props.EndpointId} not found in project ${project} (HTTP 404 from ${api.url}): check neonCompute.projectId and the target's `
        + `endpoint id (the first label of its host), and that the API key in ${source} belongs to the account or organization that owns the project.`);
    default:
      return e;
  }
}

function parseProperties(raw: Record<string, any>): NeonComputeKeepAliveProperties {
  for (const name of ['ProjectId', 'EndpointId', 'ApiKeySecretArn', 'ApiBaseUrl', 'SuspendTimeoutSeconds']) {
    if (typeof raw[name] !== 'string' || raw[name].length === 0) {
      throw new Error(`Custom::NeonComputeKeepAlive needs ${name}.`);
    }
  }
  if (!/^https:\/\//.test(raw.ApiBaseUrl)) {
    throw new Error('Custom::NeonComputeKeepAlive needs an ApiBaseUrl starting with https://.');
  }
  const seconds = Number(raw.SuspendTimeoutSeconds);
  if (!Number.isInteger(seconds) || (seconds !== -1 && (seconds < 60 || seconds > 604_800))) {
    throw new Error(`Custom::NeonComputeKeepAlive: SuspendTimeoutSeconds '${raw.SuspendTimeoutSeconds}' must be -1 (never suspend) or 60 to 604800.`);
  }
  return {
    ProjectId: raw.ProjectId,
    EndpointId: raw.EndpointId,
    ApiKeySecretArn: raw.ApiKeySecretArn,
    ApiKeySecretField: raw.ApiKeySecretField || undefined,
    ApiBaseUrl: raw.ApiBaseUrl,
    SuspendTimeoutSeconds: raw.SuspendTimeoutSeconds,
  };
}

let secrets: SecretsManagerClient | undefined;

/**
 * The Neon API key held in the secret `secretArn` (plain, or in the JSON field `field`). `property`
 * names the construct property the secret was given as, for messages; they name the secret, never
 * its value.
 */
export async function readNeonApiKey(secretArn: string, field: string | undefined, property: string): Promise<string> {
  secrets ??= new SecretsManagerClient({});
  const source = field ? `${secretArn}, field ${field}` : secretArn;
  const value = (await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
  if (value === undefined) {
    throw new Error(`${property} (${source}) holds binary data; store the Neon API key as a secret string.`);
  }
  let key: unknown = value;
  if (field) {
    let document: unknown;
    try {
      document = JSON.parse(value);
    } catch {
      throw new Error(`${property} (${source}) is not JSON, so it has no field '${field}': leave the field out when the secret holds the plain API key.`);
    }
    key = typeof document === 'object' && document !== null && !Array.isArray(document) ? (document as Record<string, unknown>)[field] : undefined;
    if (typeof key !== 'string') {
      throw new Error(`${property} (${source}) has no string field '${field}': name the field holding the Neon API key.`);
    }
  } else if (value.trim().startsWith('{')) {
    throw new Error(`${property} (${source}) holds JSON: name the field holding the Neon API key.`);
  }
  const trimmed = (key as string).trim();
  if (trimmed.length === 0 || /\s/.test(trimmed)) {
    throw new Error(`${property} (${source}) does not hold a Neon API key (empty or containing whitespace).`);
  }
  return trimmed;
}
