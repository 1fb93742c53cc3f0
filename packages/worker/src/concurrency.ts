/**
 * Runs `task` over `items` with at most `limit` in flight; results keep the
 * input order. With `releaseAfterMs`, a task still running after that long
 * stops counting against the limit (it runs on, awaited at the end), so a
 * few tasks that hang never hold back the items behind them: the limit bounds
 * the work in progress, not the waiting.
 */
export async function mapWithConcurrency<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>, releaseAfterMs?: number): Promise<R[]> {
  const results = new Array<R>(items.length);
  const released: Array<Promise<void>> = [];
  let failed: { error: unknown } | undefined;
  let next = 0;
  const lane = async () => {
    while (next < items.length && !failed) {
      const index = next++;
      const running = task(items[index]).then(
        (result) => void (results[index] = result),
        (error: unknown) => void (failed ??= { error }),
      );
      if (releaseAfterMs === undefined) await running;
      else if (!(await settlesWithin(running, releaseAfterMs))) released.push(running);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  await Promise.all(released);
  if (failed) throw failed.error;
  return results;
}

/** Waits for `work` at most `ms`; true if it settled by then. */
async function settlesWithin(work: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([work.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
