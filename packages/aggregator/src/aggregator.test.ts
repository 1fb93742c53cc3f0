import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createLogger, HOUR_MS, IllegalStateError, MINUTE_MS, type RowDataPacket } from '@watched/core';
import { createTestEnvironment, type TestEnvironment, waitFor } from '@watched/core/testing';
import { Aggregator } from './aggregator.js';
import { parseAggregatorOptions } from './aggregator-options.js';
import { createDataTable, insertRows, makeRows, seedSeries } from './testing/fixtures.js';

const REPLICA_SCRIPT = fileURLToPath(new URL('../dist/testing/aggregator-process.js', import.meta.url));

interface Replica {
  name: string;
  child: ChildProcess;
  states: { state: string; term: number }[];
  exited: Promise<void>;
}

function startReplica(env: TestEnvironment, name: string): Replica {
  const child = spawn(process.execPath, [REPLICA_SCRIPT, env.mysqlUrl, env.redisUrl, env.prefix, name], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const replica: Replica = { name, child, states: [], exited: new Promise((r) => child.once('exit', () => r())) };
  createInterface({ input: child.stdout! }).on('line', (line) => replica.states.push(JSON.parse(line)));
  return replica;
}

async function amWatermark(env: TestEnvironment, dataType: string): Promise<{ watermark: number; term: number } | undefined> {
  const [rows] = await env.pool.query<RowDataPacket[]>("SELECT watermark, term FROM `c$rollup_watermarks` WHERE data_type = ? AND level = 'am'", [dataType]);
  return rows.length ? { watermark: Number(rows[0].watermark), term: Number(rows[0].term) } : undefined;
}

async function addType(env: TestEnvironment, dataType: string): Promise<void> {
  const series = await seedSeries(env.pool, dataType, 'host_id', 2, 1);
  await createDataTable(env.pool, dataType, 'host_id', ['v']);
  const now = Date.now();
  await insertRows(env.pool, dataType, 'host_id', ['v'], makeRows(series, ['v'], now - 2 * HOUR_MS, now - 10 * MINUTE_MS, 60_000, 5));
}

describe('Aggregator role', () => {
  let env: TestEnvironment;
  const replicas: Replica[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment('aggregator role');
  });

  afterAll(async () => {
    for (const r of replicas) r.child.kill('SIGKILL');
    await Promise.all(replicas.map((r) => r.exited));
    await env?.cleanup();
  });

  it('starts once and closes idempotently', async () => {
    const aggregator = new Aggregator(env.roleContext('aggregator'), parseAggregatorOptions());
    await aggregator.start();
    await expect(aggregator.start()).rejects.toBeInstanceOf(IllegalStateError);
    await Promise.all([aggregator.close(), aggregator.close()]);
    await aggregator.close();
    expect(aggregator.isActive).toBe(false);
    // Closing a role that never started is fine too.
    await new Aggregator(env.roleContext('aggregator'), parseAggregatorOptions()).close();
  });

  it('runs one active replica of two; the standby takes over when the active one is killed', async () => {
    if (!existsSync(REPLICA_SCRIPT)) throw new Error(`build the package first (npm run build): ${REPLICA_SCRIPT} is missing`);
    await addType(env, 'first');
    replicas.push(startReplica(env, 'replica-a'), startReplica(env, 'replica-b'));

    // The active replica rolls the data up under its term.
    const first = await waitFor('the first rollup', () => amWatermark(env, 'first'), 30_000, 100);
    const active = await waitFor('an active replica', () => replicas.find((r) => r.states.some((s) => s.state === 'active')), 30_000, 100);
    const standby = replicas.find((r) => r !== active)!;
    const term = active.states.find((s) => s.state === 'active')!.term;
    expect(first.term).toBe(term);
    // The active replica goes on until every row is rolled up; the standby never was active meanwhile.
    const dataEnd = Date.now() - 10 * MINUTE_MS;
    const done = await waitFor('the whole backlog', async () => {
      const mark = await amWatermark(env, 'first');
      return mark && mark.watermark >= dataEnd ? mark : undefined;
    }, 30_000, 100);
    expect(done.term).toBe(term);
    // The standby reports its state on its own timer: wait for its first report rather than race it.
    await waitFor('the standby to report', () => standby.states.length > 0, 10_000, 100);
    expect(standby.states.length).toBeGreaterThan(0);
    expect(standby.states.every((s) => s.state === 'standby')).toBe(true);

    // SIGKILL: no release, the lease has to expire.
    active.child.kill('SIGKILL');
    await active.exited;
    await addType(env, 'second');
    const taken = await waitFor('the standby to take over', () => standby.states.find((s) => s.state === 'active'), 30_000, 100);
    expect(taken.term).toBeGreaterThan(term);
    const second = await waitFor('a rollup by the new active replica', () => amWatermark(env, 'second'), 30_000, 100);
    expect(second.term).toBe(taken.term);
  });
});
