import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';

/*
 * Neon's proxy finds the compute endpoint a connection is for in the TLS SNI host name, or in the
 * `endpoint=<endpoint_id>` connection option. Only a connection that gives it neither is asked for a
 * cleartext password in the form `endpoint=<endpoint_id>$<password>`; a connection that sends SNI
 * authenticates with the password as it is, so the whole `endpoint=…$…` string fails there
 * ("password authentication failed"). Each client therefore gets the form it can use: DMS
 * replication endpoints (no SNI) the endpoint-in-password form, the clients that send SNI (libpq 14
 * and later, node-postgres with a host name, JDBC) the plain password. See docs/neon-credentials.md.
 */

/**
 * How the password of a Neon role is written for a client.
 */
export enum NeonPasswordForm {
  /**
   * The password as the Neon console shows it, for clients that name the endpoint in TLS SNI
   * (libpq 14 and later by default, node-postgres with a host name, JDBC).
   */
  PLAIN = 'plain',

  /**
   * `endpoint=<endpoint_id>$<password>`, for clients that send no SNI and no `endpoint` option
   * (DMS replication endpoints). Neon reads it only from such a connection.
   */
  ENDPOINT_IN_PASSWORD = 'endpoint-in-password',
}

/** The secrets that hold a password in the endpoint-in-password form (the DMS endpoints' credentials). */
const endpointInPasswordSecrets = new WeakSet<object>();

/** Marks `secret` as holding the endpoint-in-password form. @internal */
export function markEndpointInPassword(secret: secretsmanager.ISecret): void {
  endpointInPasswordSecrets.add(secret);
}

/** Whether `secret` is a DMS endpoint's credentials secret, with the password in the endpoint-in-password form. @internal */
export function holdsEndpointInPassword(secret: secretsmanager.ISecret | undefined): boolean {
  return secret !== undefined && endpointInPasswordSecrets.has(secret);
}

/**
 * Refuses a DMS endpoint's credentials secret for a client that sends SNI, naming the property and
 * the secret to pass instead.
 *
 * @param owner the construct, e.g. `MigrationVerification`
 * @param property the property the secret was given as, e.g. `targetSecret`
 * @param client who connects, and that it sends SNI, e.g. `The verification function (node-postgres) sends SNI`
 * @internal
 */
export function refuseEndpointInPassword(secret: secretsmanager.ISecret | undefined, owner: string, property: string, client: string): void {
  if (!holdsEndpointInPassword(secret)) return;
  throw new Error(`${owner}: ${property} is a Neon DMS endpoint's credentials secret (NeonTargetEndpoint.credentialsSecret), whose password is `
    + `written endpoint=<endpoint_id>$<password> for DMS, which sends no TLS SNI. ${client}, and Neon then takes the whole string `
    + 'for the password (password authentication failed): pass the endpoint\'s clientCredentialsSecret instead.');
}
