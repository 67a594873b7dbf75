/**
 * Runs `worker` over `items` with at most `concurrency` calls in flight. Each of the workers is
 * identified by a slot number (0 ≤ slot < concurrency) so it can keep per-slot resources such as
 * connections. Results keep the order of `items`.
 */
export async function mapPool<T, R>(
  items: readonly T[],
  concurrency: number,
  worker: (item: T, slot: number, index: number) => Promise<R>,
): Promise<R[]> {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error(`concurrency must be a positive integer, got ${concurrency}`);
  }
  const results = new Array<R>(items.length);
  let next = 0;
  const run = async (slot: number) => {
    while (next < items.length) {
      const index = next++;
      results[index] = await worker(items[index], slot, index);
    }
  };
  const slots = Math.min(concurrency, items.length);
  await Promise.all(Array.from({ length: slots }, (_, slot) => run(slot)));
  return results;
}
