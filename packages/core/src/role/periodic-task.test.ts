import { waitFor } from '../testing/wait-for.js';
import { describe, expect, it } from '@jest/globals';
import { createLogger } from '../logger.js';
import { PeriodicTask } from './periodic-task.js';

const logger = createLogger({ level: 'error', silent: true });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PeriodicTask', () => {
  it('never runs twice at once, and stop waits for the running pass', async () => {
    let running = 0;
    let overlapped = false;
    let passes = 0;
    let finished = 0;
    const task = new PeriodicTask({
      name: 'test task',
      intervalMs: () => 10,
      logger,
      run: async () => {
        running += 1;
        overlapped ||= running > 1;
        passes += 1;
        await sleep(60); // several ticks while it runs
        running -= 1;
        finished += 1;
      },
    });
    task.start();
    await sleep(150);
    await task.stop();
    expect(overlapped).toBe(false);
    expect(passes).toBeGreaterThanOrEqual(1);
    expect(finished).toBe(passes); // the pass running at stop() has ended
    await sleep(50);
    expect(passes).toBe(finished); // nothing started after stop
  });

  it('goes on after a failed pass and aborts its signal on stop', async () => {
    let passes = 0;
    let seen: AbortSignal | undefined;
    const task = new PeriodicTask({
      name: 'test task',
      intervalMs: () => 10,
      logger,
      run: async (signal) => {
        passes += 1;
        seen = signal;
        if (passes === 1) throw new Error('first pass fails');
      },
    });
    task.start();
    await sleep(80);
    await task.stop();
    expect(passes).toBeGreaterThanOrEqual(2);
    expect(seen?.aborted).toBe(true);
  });

  it('never overlaps runs, runs again when triggered mid-run, and stop waits for the run in progress', async () => {
    let running = 0;
    let overlapped = false;
    let runs = 0;
    let release: () => void = () => undefined;
    const task = new PeriodicTask({
      name: 'test task',
      intervalMs: () => 60_000,
      firstDelayMs: 0,
      logger,
      run: async () => {
        running += 1;
        overlapped ||= running > 1;
        runs += 1;
        await new Promise<void>((resolve) => (release = resolve));
        running -= 1;
      },
    });
    task.start();
    await waitFor('the first run', async () => runs === 1, 5000);
    task.trigger();
    task.trigger();
    release();
    await waitFor('the triggered run', async () => runs === 2, 5000);
    expect(overlapped).toBe(false);
    const stopped = task.stop();
    let done = false;
    void stopped.then(() => (done = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(done).toBe(false); // still waiting for the run in progress
    release();
    await stopped;
    expect(runs).toBe(2); // the interval is a minute: nothing else ran
  });
});
