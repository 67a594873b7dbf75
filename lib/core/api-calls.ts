/*
 * How the handlers call AWS APIs: errors told apart by name, throttled calls retried with backoff,
 * and the clock and sleep as test seams. Bundled into the handler functions: imports nothing.
 */

/** Test seams: how the handlers wait between retries and read the clock. */
export const timing = {
  sleep: (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms)),
  now: (): number => Date.now(),
};

/** Whether `e` is the AWS error (or fault) called one of `names`. */
export function isError(e: unknown, ...names: string[]): boolean {
  if (typeof e !== 'object' || e === null) {
    return false;
  }
  const err = e as { name?: string; Code?: string; code?: string };
  return names.some(n => err.name === n || err.Code === n || err.code === n);
}

/** AWS throttles describe and control-plane calls under load. */
export function isThrottling(e: unknown): boolean {
  return isError(e, 'ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded');
}

export function errorMessage(e: unknown): string {
  return typeof e === 'object' && e !== null ? String((e as { message?: unknown }).message ?? '') : String(e);
}

const RETRY_ATTEMPTS = 5;
const RETRY_BASE_MS = 1_000;

/** Runs `call`, retrying throttled attempts with exponential backoff (1, 2, 4, 8 s). */
export async function withThrottleRetry<T>(what: string, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (e) {
      if (!isThrottling(e) || attempt >= RETRY_ATTEMPTS) {
        throw e;
      }
      const delay = RETRY_BASE_MS * 2 ** (attempt - 1);
      console.log(`${what} throttled (attempt ${attempt}); retrying in ${delay} ms`);
      await timing.sleep(delay);
    }
  }
}

