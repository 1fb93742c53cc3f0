import { describe, expect, it } from '@jest/globals';
import { mapWithConcurrency } from './concurrency.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('mapWithConcurrency', () => {
  it('keeps the input order and never runs more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    const results = await mapWithConcurrency([5, 1, 3, 2, 4], 2, async (n) => {
      most = Math.max(most, ++running);
      await sleep(n * 5);
      running -= 1;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 30, 20, 40]);
    expect(most).toBe(2);
  });

  it('with releaseAfterMs, tasks that hang hold no slot: the items behind them start at once', async () => {
    const hang = new Promise<void>((resolve) => setTimeout(resolve, 1500));
    const startedAt = new Map<string, number>();
    const t0 = Date.now();
    const items = ['hang1', 'hang2', 'hang3', 'a', 'b', 'c'];
    const results = await mapWithConcurrency(
      items,
      2,
      async (item) => {
        startedAt.set(item, Date.now() - t0);
        if (item.startsWith('hang')) await hang;
        return item;
      },
      50,
    );
    expect(results).toEqual(items);
    // Without the release, 'a' would wait for two hanging tasks (1.5 s); with it, for two releases (about 100 ms).
    for (const item of ['a', 'b', 'c']) expect(startedAt.get(item)).toBeLessThan(1000);
  });

  it('throws the first failure once every task started has settled', async () => {
    const settled: number[] = [];
    await expect(
      mapWithConcurrency([1, 2, 3], 3, async (n) => {
        await sleep(n * 10);
        settled.push(n);
        if (n === 1) throw new Error('one failed');
        return n;
      }),
    ).rejects.toThrow('one failed');
    expect(settled.sort()).toEqual([1, 2, 3]);
  });
});
