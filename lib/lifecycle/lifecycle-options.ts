import * as crypto from 'crypto';
import { Duration, Stack, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * SHA-256 of `properties` of `scope`'s stack, resolved: tokens are hashed as their CloudFormation
 * expressions. What the stoppers compare to tell a changed task or replication from an unchanged one.
 *
 * @internal
 */
export function resolvedHash(scope: IConstruct, properties: Record<string, unknown>): string {
  const resolved = Stack.of(scope).resolve(properties);
  return crypto.createHash('sha256').update(JSON.stringify(resolved)).digest('hex');
}

/**
 * The maximum wait of a lifecycle in seconds (default 1 hour 45 minutes), between 1 minute and
 * 115 minutes: the custom-resource provider gives up after 2 hours.
 *
 * @internal
 */
export function validateMaxWait(owner: string, maxWait: Duration | undefined): number {
  const seconds = (maxWait ?? Duration.minutes(105)).toSeconds();
  if (!Token.isUnresolved(seconds) && (seconds < 60 || seconds > 115 * 60)) {
    throw new Error(`${owner}: maxWait is ${seconds} seconds; use between 1 minute and 115 minutes `
      + '(the custom-resource provider gives up after 2 hours). The full load continues after the deployment.');
  }
  return seconds;
}
