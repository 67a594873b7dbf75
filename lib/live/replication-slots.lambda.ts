// The AWS SDK comes from the Lambda runtime: the handler bundles mark it external.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Client, ClientConfig } from 'pg';
import { DroppedSlot, dropTaskSlots, identifyTaskSlot, KeptSlot, listLogicalSlots, LogicalSlot } from './replication-slots';

/*
 * The slot function: the part of the replication-slot cleanup that runs in the replication network,
 * where the source database is reachable. The stack's shared provider calls it (through the slot
 * relay state machine) with one operation; it reads the source's credentials from Secrets Manager,
 * never logs or returns them, and answers what it found or dropped. A source it cannot reach is an
 * answer (`Reachable: false`), not an error: the caller decides what that means.
 */

/** One operation on the source's replication slots. */
export interface SlotRequest {
  /** `inspect`: the database's logical slots, and the task's among them; `drop`: drop `SlotNames` where safe. */
  readonly Operation: string;
  /** The source database's secret (RDS JSON: `username`, `password`, `host`, `port`). */
  readonly SecretArn: string;
  /** The database the task migrates. */
  readonly Database: string;
  /** `inspect`: the private addresses of the task's replication instance. */
  readonly ClientAddresses?: string[];
  /** `inspect`: how long to wait for the task's slot to appear, in seconds (DMS creates it as the task starts). */
  readonly WaitSeconds?: number;
  /** `drop`: the slots to drop. */
  readonly SlotNames?: string[];
  /** PEM bundle to verify the source's certificate with; without it TLS is used unverified (`sslmode=require`). */
  readonly CaBundle?: string;
}

/** What the slot function found or did. */
export interface SlotResponse {
  /** False when the source could not be reached or its secret not read (`Error` says why). */
  readonly Reachable: boolean;
  readonly Error?: string;
  /** `inspect`: the logical slots of the database. */
  readonly Slots?: LogicalSlot[];
  /** `inspect`: the task's slot, when exactly one matched. */
  readonly TaskSlot?: string;
  /** `inspect`: every slot that matched (several: the task cannot be told apart). */
  readonly Candidates?: string[];
  /** `drop`: what was dropped, kept, and how much WAL the server may now remove, in bytes. */
  readonly Dropped?: DroppedSlot[];
  readonly Kept?: KeptSlot[];
  readonly ReleasedBytes?: number;
}

/** The longest the function waits for a task's slot to appear: well within its own timeout. */
const MAX_WAIT_SECONDS = 120;

/** Test seam: how long to pause between looks for a slot. */
export const pause = { ms: 5000 };

let secrets: SecretsManagerClient | undefined;

export async function handler(request: SlotRequest): Promise<SlotResponse> {
  const { CaBundle: _ca, ...logged } = request;
  console.log(JSON.stringify({ request: logged }));
  if (request.Operation !== 'inspect' && request.Operation !== 'drop') {
    throw new Error(`Unknown Operation '${request.Operation}': expected inspect or drop.`);
  }
  if (!request.SecretArn || !request.Database) {
    throw new Error('SecretArn and Database are required.');
  }
  let client: Client;
  try {
    client = new Client(await clientConfig(request));
    await client.connect();
  } catch (e) {
    const message = `The source database could not be reached from the replication network, or its secret read: ${(e as Error).message}`;
    console.log(message);
    return { Reachable: false, Error: message };
  }
  try {
    const response = request.Operation === 'inspect' ? await inspect(client, request) : await drop(client, request);
    console.log(JSON.stringify({ response }));
    return response;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function inspect(client: Client, request: SlotRequest): Promise<SlotResponse> {
  const deadline = Date.now() + Math.min(Math.max(request.WaitSeconds ?? 0, 0), MAX_WAIT_SECONDS) * 1000;
  for (;;) {
    const slots = await listLogicalSlots(client, request.Database);
    const match = identifyTaskSlot(slots, request.ClientAddresses ?? []);
    if (match.candidates.length > 0 || Date.now() >= deadline) {
      return { Reachable: true, Slots: slots, TaskSlot: match.slot, Candidates: match.candidates };
    }
    await new Promise((resolve) => setTimeout(resolve, pause.ms));
  }
}

async function drop(client: Client, request: SlotRequest): Promise<SlotResponse> {
  const result = await dropTaskSlots(client, request.Database, request.SlotNames ?? []);
  return { Reachable: true, Dropped: result.dropped, Kept: result.kept, ReleasedBytes: result.releasedBytes };
}

interface SecretCredentials {
  readonly username?: string;
  readonly password?: string;
  readonly host?: string;
  readonly port?: number | string;
}

/** The client configuration for the source (its secret is read, never logged). */
async function clientConfig(request: SlotRequest): Promise<ClientConfig> {
  secrets ??= new SecretsManagerClient({});
  const value = await secrets.send(new GetSecretValueCommand({ SecretId: request.SecretArn }));
  let s: SecretCredentials = {};
  try {
    s = JSON.parse(value.SecretString ?? '');
  } catch { /* reported below */ }
  if (!s.username || !s.password || !s.host) {
    throw new Error(`the secret ${request.SecretArn} must be JSON with username, password, host and port`);
  }
  return {
    host: s.host,
    port: Number(s.port ?? 5432),
    user: s.username,
    password: s.password,
    database: request.Database,
    ssl: request.CaBundle ? { rejectUnauthorized: true, ca: request.CaBundle } : { rejectUnauthorized: false },
    connectionTimeoutMillis: 15_000,
    statement_timeout: 30_000,
    application_name: 'cdk-neon-migration slot cleanup',
  };
}
