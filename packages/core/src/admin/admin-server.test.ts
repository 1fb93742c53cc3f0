import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import winston from 'winston';
import { z } from 'zod';
import { compileMysqlConnection } from '../config/mysql-connection-options.js';
import { createMysqlPool, type Pool } from '../mysql.js';
import { createRedis } from '../redis.js';
import { loadOptions } from '../config/load-options.js';
import { ConfigError } from '../errors.js';
import { createTestEnvironment, type TestEnvironment } from '../testing/test-environment.js';
import { parseExposition } from '../testing/exposition.js';
import { TcpProxy } from '../testing/tcp-proxy.js';
import { AdminServer } from './admin-server.js';
import { ADMIN_PATHS, adminOptionsShapeFor, DEFAULT_ADMIN_PORT } from './admin-options.js';
import { WatchedMetrics } from './metrics.js';
import { mysqlReadiness, redisReadiness, stateReadiness } from './readiness.js';

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text(), headers: res.headers };
}

describe('AdminServer', () => {
  let env: TestEnvironment;
  beforeAll(async () => {
    env = await createTestEnvironment('admin-server', { migrate: false });
  });
  afterAll(async () => {
    await env.cleanup();
  });

  it("options: localhost on the command's port by default, token optional, bad addresses refused", () => {
    const adminOptionsShape = adminOptionsShapeFor(DEFAULT_ADMIN_PORT);
    const schema = z.object(adminOptionsShape);
    expect(loadOptions(schema, {})).toEqual({ adminListen: '127.0.0.1:9464' });
    expect(loadOptions(z.object(adminOptionsShapeFor(9465)), {})).toEqual({ adminListen: '127.0.0.1:9465' });
    expect(loadOptions(schema, { env: { WATCHED_ADMIN_LISTEN: '[::]:9464', WATCHED_ADMIN_TOKEN: 'sekret-token' } })).toEqual({
      adminListen: '[::]:9464',
      adminToken: 'sekret-token',
    });
    expect(() => loadOptions(schema, { env: { WATCHED_ADMIN_LISTEN: '9464' } })).toThrow(/adminListen.*WATCHED_ADMIN_LISTEN/);
    expect(() => loadOptions(schema, { env: { WATCHED_ADMIN_LISTEN: '0.0.0.0:70000' } })).toThrow(/adminListen/);
    for (const [key, schemaOf] of Object.entries(adminOptionsShape)) expect(schemaOf.description ?? `${key} undescribed`).not.toMatch(/undescribed/);
  });

  it('serves /healthz, /readyz with real MySQL and Redis checks, and /metrics in exposition format', async () => {
    const metrics = new WatchedMetrics();
    let roleReady = false;
    const admin = new AdminServer(
      { adminListen: '127.0.0.1:0' },
      { logger: env.logger, metrics, readiness: [mysqlReadiness(env.pool), redisReadiness(env.redis)] },
    );
    admin.addReadinessCheck(stateReadiness('worker', () => roleReady));
    await admin.start();
    await admin.start(); // idempotent
    const { url, host } = admin.address();
    try {
      expect(host).toBe('127.0.0.1');

      const health = await get(url + ADMIN_PATHS.health);
      expect(health.status).toBe(200);
      expect(JSON.parse(health.text)).toMatchObject({ status: 'ok' });

      const notYet = await get(url + ADMIN_PATHS.ready);
      expect(notYet.status).toBe(503);
      expect(JSON.parse(notYet.text)).toEqual({
        status: 'unready',
        failing: ['worker'],
        checks: { mysql: 'ok', redis: 'ok', worker: 'failing' },
      });
      roleReady = true;
      const ready = await get(url + ADMIN_PATHS.ready);
      expect(ready.status).toBe(200);
      expect(JSON.parse(ready.text)).toEqual({ status: 'ready', checks: { mysql: 'ok', redis: 'ok', worker: 'ok' } });

      metrics.observePoll('ok', 0.2);
      metrics.observePoll('ok', 0.3);
      metrics.observePoll('failed', 5);
      metrics.rowsWritten.inc({ kind: 'data' }, 42);
      metrics.setLeader('coordinator', 7);
      metrics.queueDepth.set({ state: 'waiting' }, 3);
      metrics.schedulerSkippedSlots.inc();
      metrics.jobsFailed.inc({ group: 'g1' });
      metrics.groupFailedAgents.set({ group: 'g1' }, 2);
      const scrape = await get(url + ADMIN_PATHS.metrics);
      expect(scrape.status).toBe(200);
      expect(scrape.type).toMatch(/^text\/plain; version=0\.0\.4/);
      const samples = parseExposition(scrape.text);
      expect(samples.get('watched_polls_total{outcome="ok"}')).toBe(2);
      expect(samples.get('watched_polls_total{outcome="failed"}')).toBe(1);
      expect(samples.get('watched_poll_duration_seconds_count{outcome="ok"}')).toBe(2);
      expect(samples.get('watched_poll_duration_seconds_bucket{le="0.25",outcome="ok"}')).toBe(1);
      expect(samples.get('watched_rows_written_total{kind="data"}')).toBe(42);
      expect(samples.get('watched_leader{role="coordinator"}')).toBe(1);
      expect(samples.get('watched_leader_term{role="coordinator"}')).toBe(7);
      expect(samples.get('watched_queue_depth{state="waiting"}')).toBe(3);
      expect(samples.get('watched_scheduler_skipped_slots_total')).toBe(1);
      expect(samples.get('watched_jobs_failed_total{group="g1"}')).toBe(1);
      expect(samples.get('watched_group_failed_agents{group="g1"}')).toBe(2);
      expect(samples.has('process_cpu_user_seconds_total')).toBe(true);
      expect(samples.has('nodejs_eventloop_lag_seconds')).toBe(true);

      // the counters move between scrapes
      metrics.observePoll('ok', 0.1);
      expect(parseExposition((await get(url + ADMIN_PATHS.metrics)).text).get('watched_polls_total{outcome="ok"}')).toBe(3);

      expect((await get(url + '/nope')).status).toBe(404);
      expect((await fetch(url + ADMIN_PATHS.metrics, { method: 'POST' })).status).toBe(405);
    } finally {
      await Promise.all([admin.close(), admin.close()]);
    }
    expect(admin.lifecycleState).toBe('STOPPED');
    await expect(fetch(url + ADMIN_PATHS.health)).rejects.toThrow();
  });

  it('turns unready when MySQL goes away and ready again when it is back', async () => {
    const [target] = compileMysqlConnection(env.mysqlUrl).hosts;
    const proxy = new TcpProxy(target.host, target.port);
    await proxy.start();
    const url = new URL(env.mysqlUrl);
    url.host = `127.0.0.1:${proxy.port}`;
    const pool: Pool = createMysqlPool(url.toString(), { connectionLimit: 2 });
    const admin = new AdminServer({ adminListen: '127.0.0.1:0' }, { logger: env.logger, readiness: [mysqlReadiness(pool), redisReadiness(env.redis)], checkTimeoutMs: 1500 });
    await admin.start();
    try {
      const readyz = admin.address().url + ADMIN_PATHS.ready;
      expect((await get(readyz)).status).toBe(200);

      await proxy.cut();
      const down = await get(readyz);
      expect(down.status).toBe(503);
      const body = JSON.parse(down.text) as { failing: string[]; checks: Record<string, string> };
      expect(body.failing).toEqual(['mysql']);
      expect(body.checks.redis).toBe('ok');
      expect(body.checks.mysql).not.toBe('ok');

      await proxy.restore(); // same port
      let status = 0;
      for (let i = 0; i < 20 && status !== 200; i++) {
        status = (await get(readyz)).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(200);
    } finally {
      await admin.close();
      await pool.end().catch(() => undefined);
      await proxy.close();
    }
  });

  it('reports a Redis that does not answer as unready within the check timeout', async () => {
    // a black hole: accepts connections and never answers
    const sockets = new Set<Socket>();
    const hole = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
    const silent = createRedis(`redis://127.0.0.1:${(hole.address() as AddressInfo).port}`);
    silent.on('error', () => undefined);
    const admin = new AdminServer({ adminListen: '127.0.0.1:0' }, { logger: env.logger, readiness: [redisReadiness(silent)], checkTimeoutMs: 500 });
    await admin.start();
    try {
      const started = Date.now();
      const res = await get(admin.address().url + ADMIN_PATHS.ready);
      expect(res.status).toBe(503);
      expect(JSON.parse(res.text)).toEqual({ status: 'unready', failing: ['redis'], checks: { redis: 'failing' } });
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await admin.close();
      silent.disconnect();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => hole.close(resolve));
    }
  });

  it("/readyz tells the reasons (internal error texts) only to the token's holder, and logs each change once", async () => {
    const lines: string[] = [];
    const sink = new Writable({ objectMode: true, write: (info: { message: string }, _enc, done) => { lines.push(info.message); done(); } });
    const logger = winston.createLogger({ level: 'info', transports: [new winston.transports.Stream({ stream: sink })] });
    let reason: string | undefined = "connect ECONNREFUSED 10.1.2.3:3306 (user 'watched'@'db-internal')";
    const check = { name: 'mysql', check: () => { if (reason) throw new Error(reason); } };
    const tokenless = new AdminServer({ adminListen: '127.0.0.1:0' }, { logger, readiness: [check] });
    const guarded = new AdminServer({ adminListen: '127.0.0.1:0', adminToken: 'correct-horse' }, { logger, readiness: [check] });
    await tokenless.start();
    await guarded.start();
    try {
      for (const admin of [tokenless, guarded]) {
        const open = await get(admin.address().url + ADMIN_PATHS.ready);
        expect(open.status).toBe(503);
        expect(JSON.parse(open.text)).toEqual({ status: 'unready', failing: ['mysql'], checks: { mysql: 'failing' } });
        expect(open.text).not.toMatch(/10\.1\.2\.3|watched|ECONNREFUSED/);
      }
      expect(JSON.parse((await get(guarded.address().url + ADMIN_PATHS.ready, { authorization: 'Bearer wrong-horse' })).text).checks).toEqual({ mysql: 'failing' });
      const detailed = await get(guarded.address().url + ADMIN_PATHS.ready, { authorization: 'Bearer correct-horse' });
      expect(JSON.parse(detailed.text).checks).toEqual({ mysql: reason });
      for (let i = 0; i < 3; i++) await get(tokenless.address().url + ADMIN_PATHS.ready);
      reason = undefined;
      await get(tokenless.address().url + ADMIN_PATHS.ready);
      await get(tokenless.address().url + ADMIN_PATHS.ready);
      // tokenless saw: failing (x4), ok (x2): one line each way
      const failingLines = lines.filter((l) => l.startsWith('readiness: mysql failing'));
      expect(failingLines.length).toBe(2); // once per server
      expect(failingLines[0]).toContain('ECONNREFUSED 10.1.2.3:3306');
      expect(lines.filter((l) => l === 'readiness: mysql ok again')).toHaveLength(1);
    } finally {
      await tokenless.close();
      await guarded.close();
    }
  });

  it('with a token: /metrics needs it, the probes stay open', async () => {
    const admin = new AdminServer({ adminListen: '127.0.0.1:0', adminToken: 'correct-horse' }, { logger: env.logger });
    await admin.start();
    try {
      const { url } = admin.address();
      expect((await get(url + ADMIN_PATHS.health)).status).toBe(200);
      expect((await get(url + ADMIN_PATHS.ready)).status).toBe(200); // no checks: ready
      const anonymous = await get(url + ADMIN_PATHS.metrics);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await get(url + ADMIN_PATHS.metrics, { authorization: 'Bearer wrong-horse' })).status).toBe(401);
      expect((await get(url + '/other', {})).status).toBe(401);
      const scrape = await get(url + ADMIN_PATHS.metrics, { authorization: 'Bearer correct-horse' });
      expect(scrape.status).toBe(200);
      expect(scrape.text).toContain('# TYPE watched_polls_total counter');
    } finally {
      await admin.close();
    }
  });

  it('fails to start with a configuration error naming the address and the option when the port is taken', async () => {
    const first = new AdminServer({ adminListen: '127.0.0.1:0' }, { logger: env.logger });
    await first.start();
    const second = new AdminServer({ adminListen: `127.0.0.1:${first.address().port}` }, { logger: env.logger });
    try {
      const refused = second.start();
      await expect(refused).rejects.toBeInstanceOf(ConfigError);
      await expect(refused).rejects.toThrow(/adminListen: 127\.0\.0\.1:\d+ is in use .*set --admin-listen or WATCHED_ADMIN_LISTEN/);
    } finally {
      await second.close();
      await first.close();
    }
  });
});
