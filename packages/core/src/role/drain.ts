/**
 * Waits for `work` (e.g. a queue consumer's close, which lets running jobs
 * finish) for at most `deadlineMs`. Resolves 'done' when it settled in time,
 * else 'deadline' (the caller then hands work back or gives up). `work`'s
 * rejection counts as done: the caller logs it where it created it.
 */
export async function drainWithDeadline(work: Promise<unknown>, deadlineMs: number): Promise<'done' | 'deadline'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), deadlineMs);
  });
  try {
    return await Promise.race([work.then(() => 'done' as const, () => 'done' as const), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
