import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AgentFleet } from '@watched/agent-sim';
import { ADMIN_PATHS } from '@watched/core';
import { createTestEnvironment, parseExposition, TcpProxy, type TestEnvironment, waitFor } from '@watched/core/testing';
import { adminUrlOf, spawnWatched, startCursorFleet, type RoleProcess } from './processes.js';

/**
 * The admin endpoints of real `watched` processes, as Prometheus and the
 * probes see them: /metrics parses as exposition format and its counters move
 * as polls and rollup passes happen; /readyz turns unready while MySQL is
 * unreachable (a proxy the test cuts; the shared server stays up) and ready
 * again afterwards.
 */
describe('admin endpoints of running roles', () => {
  let env: TestEnvironment;
  let fleet: AgentFleet;
  let proxy: TcpProxy;
  const processes: RoleProcess[] = [];
  const spawn = (label: string, args: string[], mysqlUrl = env.mysqlUrl) => {
    const role = spawnWatched(label, args, { mysqlUrl, redisUrl: env.redisUrl, prefix: env.prefix });
    processes.push(role);
    return role;
  };
  const scrape = async (url: string) => {
    const res = await fetch(url + ADMIN_PATHS.metrics);
    expect(res.status).toBe(200);
    return parseExposition(await res.text());
  };

  beforeAll(async () => {
    env = await createTestEnvironment('admin_endpoints');
    ({ fleet } = await startCursorFleet(env.pool, 4, 3));
    const target = new URL(env.mysqlUrl);
    proxy = new TcpProxy(target.hostname, Number(target.port || 3306));
    await proxy.start();
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL').catch(() => undefined)));
    await proxy?.close();
    await fleet?.close();
    await env?.cleanup();
  });

  it('/metrics: exposition format, poll counters that move with the polls, leader gauges', async () => {
    const coordinator = spawn('coordinator', ['coordinator', '--tick-interval', '200ms', '--agent-refresh', '500ms', '--lease-ttl', '3s']);
    const worker = spawn('worker', ['worker']);
    const aggregator = spawn('aggregator', ['aggregator', '--aggregator-interval', '1s', '--aggregator-lease-ttl', '3s']);
    const [coordinatorUrl, workerUrl, aggregatorUrl] = await Promise.all([coordinator, worker, aggregator].map((r) => adminUrlOf(r)));

    const polls = async () => (await scrape(workerUrl)).get('watched_polls_total{outcome="ok"}') ?? 0;
    const first = await waitFor('a first poll counted', async () => ((await polls()) >= 4 ? polls() : undefined), 30_000, 200);
    const before = await scrape(workerUrl);
    expect(before.get('watched_rows_written_total{kind="all"}')).toBeGreaterThan(0);
    expect(before.get('watched_poll_duration_seconds_count{outcome="ok"}')).toBeGreaterThanOrEqual(first);
    expect(before.has('process_cpu_user_seconds_total')).toBe(true);
    // The agents are polled every 2 s: the counters move between scrapes.
    const later = await waitFor('more polls counted', async () => ((await polls()) > first ? polls() : undefined), 30_000, 200);
    expect(later).toBeGreaterThan(first);
    expect((await scrape(workerUrl)).get('watched_rows_written_total{kind="all"}')).toBeGreaterThan(before.get('watched_rows_written_total{kind="all"}')!);

    const leader = await waitFor('the coordinator leading', async () => ((await scrape(coordinatorUrl)).get('watched_leader{role="coordinator"}') === 1 ? true : undefined), 15_000, 200);
    expect(leader).toBe(true);
    // The leader exports each group's lag (0 while the worker keeps up).
    const lags = [...(await scrape(coordinatorUrl)).entries()].filter(([k]) => k.startsWith('watched_group_lag_seconds{group="f'));
    expect(lags.length).toBeGreaterThan(0);
    expect(lags.every(([, v]) => v >= 0)).toBe(true);
    const aggregatorSamples = await waitFor(
      'an aggregator pass counted',
      async () => {
        const s = await scrape(aggregatorUrl);
        return (s.get('watched_aggregator_passes_total') ?? 0) >= 1 ? s : undefined;
      },
      20_000,
      200,
    );
    expect(aggregatorSamples.get('watched_leader{role="aggregator"}')).toBe(1);
    expect(aggregatorSamples.get('watched_leader_term{role="aggregator"}')).toBeGreaterThanOrEqual(1);
    expect(aggregatorSamples.has('watched_aggregator_rows_rolled_up_total')).toBe(true);
    expect(aggregatorSamples.get('watched_aggregator_pass_duration_seconds_count')).toBeGreaterThanOrEqual(1);

    for (const role of [coordinator, worker, aggregator]) expect(await role.stop('SIGTERM')).toBe(0);
  });

  it('/readyz: unready while MySQL is unreachable, ready again when it is back', async () => {
    const through = new URL(env.mysqlUrl);
    through.port = String(proxy.port);
    const aggregator = spawn('aggregator-proxied', ['aggregator', '--aggregator-interval', '1s'], through.toString());
    const readyz = (await adminUrlOf(aggregator)) + ADMIN_PATHS.ready;
    const probe = async () => {
      const res = await fetch(readyz);
      return { status: res.status, body: (await res.json()) as { failing?: string[]; checks: Record<string, string> } };
    };
    await waitFor('ready', async () => (await probe()).status === 200, 15_000, 200);

    await proxy.cut();
    const down = await waitFor('unready', async () => {
      const p = await probe();
      return p.status === 503 ? p : undefined;
    }, 15_000, 200);
    expect(down.body.failing).toEqual(['mysql']);
    expect(down.body.checks.redis).toBe('ok');
    expect(aggregator.running).toBe(true);

    await proxy.restore();
    const back = await waitFor('ready again', async () => {
      const p = await probe();
      return p.status === 200 ? p : undefined;
    }, 20_000, 200);
    expect(back.body.checks).toMatchObject({ mysql: 'ok', redis: 'ok' });
    expect(await aggregator.stop('SIGTERM')).toBe(0);
  });
});
