import { Token } from 'aws-cdk-lib';

/**
 * DMS stores replication instance identifiers in lowercase; the metric dimension and the task log
 * group (`dms-tasks-<identifier>`) carry the stored value. A literal identifier is lowercased so
 * `MyInstance` still finds its datapoints and logs; a token is used as it is.
 */
export function normalizeInstanceIdentifier(identifier: string): string {
  if (Token.isUnresolved(identifier)) {
    return identifier;
  }
  if (identifier.trim() === '') {
    throw new Error('replicationInstanceIdentifier must not be empty: pass the replication instance identifier (its name)');
  }
  return identifier.toLowerCase();
}
