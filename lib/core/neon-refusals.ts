/*
 * The messages Neon's proxy refuses a connection with, as they reach a client (and DMS's failure
 * messages quote them): neondatabase/neon proxy/src/auth/mod.rs (AuthError) and the control plane's
 * answers; Neon's "Connection errors" page documents the first two. Read by the deploy-time handlers
 * that report a failed connection (DMS TestConnection, DMS Schema Conversion), each adding what to
 * change for its own client. Imports nothing: the handlers are bundled.
 */

/** Why Neon refused a connection. */
export type NeonRefusal =
  /** Neon learned no endpoint: no SNI, no `endpoint` option, and no `endpoint=<id>$` before the password. */
  | 'endpoint-not-specified'
  /** The password is wrong for the role, or a client that sends SNI gave the `endpoint=<id>$<password>` form. */
  | 'password-failed'
  /** The compute endpoint is disabled (by the project's owner, or by Neon, e.g. a plan's limits). */
  | 'endpoint-disabled'
  /** The project's IP Allow list does not hold the client's address. */
  | 'ip-not-allowed'
  /** The endpoint named in SNI and the one in the `endpoint` option (or password) differ. */
  | 'inconsistent-endpoint'
  /** No compute endpoint of that ID exists, or the role may not use it. */
  | 'endpoint-not-found';

const PATTERNS: [NeonRefusal, RegExp][] = [
  ['endpoint-not-specified', /endpoint ID is not specified|project name is not specified|SNI is missing/i],
  ['endpoint-disabled', /endpoint has been disabled/i],
  ['ip-not-allowed', /IP address .* is not allowed to connect/i],
  ['inconsistent-endpoint', /inconsistent (project|endpoint) name/i],
  ['endpoint-not-found', /(requested )?endpoint could not be found|endpoint .* (was )?not found/i],
  ['password-failed', /password authentication failed/i],
];

/** The refusal `message` reports, when it is one of Neon's. */
export function neonRefusalOf(message: string | undefined): NeonRefusal | undefined {
  if (!message) return undefined;
  return PATTERNS.find(([, pattern]) => pattern.test(message))?.[0];
}

/** What is true of each refusal whichever client met it. */
export const NEON_REFUSAL_CAUSES: Record<NeonRefusal, string> = {
  'endpoint-not-specified': 'Neon did not learn which compute endpoint the connection is for: the client sent no TLS SNI, no endpoint option and '
    + 'no endpoint=<endpoint_id>$ before the password.',
  'password-failed': 'Neon refused the password. Neon reads endpoint=<endpoint_id>$<password> only from a client that sends no TLS SNI; from a '
    + 'client that sends SNI it takes the whole string for the password, so the form must fit the client, as well as the password the role\'s.',
  'endpoint-disabled': 'The Neon compute endpoint is disabled: enable it in the Neon console (the branch\'s compute) or with the Neon API, then '
    + 'deploy again.',
  'ip-not-allowed': 'The Neon project\'s IP Allow list does not hold the address the connection comes from: add the NAT gateway\'s Elastic IP '
    + '(NatEgressForReplication) to it.',
  'inconsistent-endpoint': 'The endpoint named in TLS SNI (the host) and the one named in the endpoint option or password differ: both must be '
    + 'the first label of the Neon host.',
  'endpoint-not-found': 'Neon has no compute endpoint of that ID: check the host (and neonEndpointId) against the Neon console\'s Connect dialog.',
};
