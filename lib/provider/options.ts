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
 * The longest a lifecycle custom resource waits for a load itself: CloudFormation fails a custom
 * resource that has not answered 3600 s after its request (`ServiceTimeout`, 1–3600), and the
 * request, the connection tests and the last poll need some of that hour. A longer `maxWait` goes
 * through a wait condition.
 *
 * @internal
 */
export const CUSTOM_RESOURCE_WAIT_LIMIT = Duration.minutes(55);

/** CloudFormation's longest wait condition timeout (`AWS::CloudFormation::WaitCondition` `Timeout`). */
export const WAIT_CONDITION_LIMIT = Duration.hours(12);

/** How much later than `maxWait` a wait condition gives up by itself (the load waiter signals at `maxWait`). */
export const CONDITION_MARGIN = Duration.minutes(15);

/** The default of `maxWait`. */
const DEFAULT_MAX_WAIT = Duration.minutes(50);

/**
 * The maximum wait of a lifecycle in seconds (default 50 minutes), between 1 minute and 11 hours
 * 45 minutes (a wait condition's 12 hours, less its margin).
 *
 * @internal
 */
export function validateMaxWait(owner: string, maxWait: Duration | undefined): number {
  const seconds = (maxWait ?? DEFAULT_MAX_WAIT).toSeconds();
  const limit = WAIT_CONDITION_LIMIT.minus(CONDITION_MARGIN).toSeconds();
  if (!Token.isUnresolved(seconds) && (seconds < 60 || seconds > limit)) {
    throw new Error(`${owner}: maxWait is ${seconds} seconds; use between 1 minute and ${Duration.seconds(limit).toHumanString()}: `
      + 'CloudFormation waits at most 12 hours for a wait condition. The full load continues after the deployment.');
  }
  return seconds;
}

/**
 * Whether a wait of `seconds` is longer than a custom resource may take, so it goes through a wait
 * condition signalled by the stack's load waiter.
 *
 * @internal
 */
export function waitsThroughCondition(seconds: number): boolean {
  return !Token.isUnresolved(seconds) && seconds > CUSTOM_RESOURCE_WAIT_LIMIT.toSeconds();
}
