import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestEnvironment, TcpProxy, waitFor, type TestEnvironment } from '@watched/core/testing';
import { PrivateRedis } from './private-redis.js';
import { adminUrlOf, spawnWatched, type ProcessEnvironment, type RoleProcess } from './processes.js';

/**
 * Items 4 and 5 of issue 17, as an operator sees them: real processes, a
 * private redis-server with a password, MySQL behind a proxy the test can
 * cut, wrong and right secrets in URLs and in password files. No secret may
 * appear in any output (stdout, stderr, log files of both formats, /readyz,
 * /metrics) in any of these, and a failure is a few lines, not a dump.
 */

const rand = randomBytes(3).toString('hex');
// Characters that a URL must encode, so that both spellings are looked for.
const REDIS_PW = `Rd!s/pw+${rand}`;
const NEW_REDIS_PW = `N3w@Rd#${rand}`;
const WRONG_REDIS_PW = `Wr0ng:Rd%${rand}`;
const MYSQL_PW = `My$ql/Pw&${rand}`;
const WRONG_MYSQL_PW = `Wr0ng@My=${rand}`;
const ADMIN_TOKEN = `adm-T0ken-${rand}`;
const SECRETS = [REDIS_PW, NEW_REDIS_PW, WRONG_REDIS_PW, MYSQL_PW, WRONG_MYSQL_PW, ADMIN_TOKEN];
const MYSQL_USER = `qf_${rand}`;

/** Every spelling of a secret that could leak: as given and URL-encoded. */
function leaksIn(text: string): string[] {
  return SECRETS.flatMap((s) => [s, encodeURIComponent(s)]).filter((form) => text.includes(form));
}

/** A one-shot command to its end (bounded): its exit code and everything it printed. */
async function runOnce(label: string, args: string[], env: ProcessEnvironment, extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; output: string }> {
  const p = spawnWatched(label, args, env, extraEnv);
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([p.exited, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 40_000)))]);
  clearTimeout(timer);
  if (code === 'timeout') {
    await p.stop('SIGKILL').catch(() => undefined);
    throw new Error(`${label} did not end\n${p.tail()}`);
  }
  return { code, output: p.output.join('') };
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

describe('secrets never appear in any output; a failure is one clear line (real processes)', () => {
  let env: TestEnvironment;
  let redis: PrivateRedis;
  let mysqlProxy: TcpProxy;
  let dir: string;
  const outputs: string[] = [];
  const roles: RoleProcess[] = [];
  let rightEnv: ProcessEnvironment;

  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, `${content}\n`);
    return path;
  };
  const mysqlUrl = (password: string) => `mysql://${MYSQL_USER}:${encodeURIComponent(password)}@127.0.0.1:${mysqlProxy.port}/${env.database}`;

  beforeAll(async () => {
    env = await createTestEnvironment('quiet_failures');
    dir = mkdtempSync(join(tmpdir(), 'watched-quiet-'));
    redis = await PrivateRedis.start(REDIS_PW);
    mysqlProxy = new TcpProxy('127.0.0.1', 3306);
    await mysqlProxy.start();
    await env.pool.query(`CREATE USER '${MYSQL_USER}'@'%' IDENTIFIED BY ?`, [MYSQL_PW]);
    await env.pool.query(`GRANT ALL ON \`${env.database}\`.* TO '${MYSQL_USER}'@'%'`);
    rightEnv = { mysqlUrl: mysqlUrl(MYSQL_PW), redisUrl: redis.url(REDIS_PW), prefix: env.prefix };
  });

  afterAll(async () => {
    await Promise.all(roles.map((r) => r.stop('SIGKILL').catch(() => undefined)));
    await redis?.kill();
    await mysqlProxy?.close();
    await env?.pool.query(`DROP USER IF EXISTS '${MYSQL_USER}'@'%'`).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
    await env?.cleanup();
  });

  const ONE_SHOT: string[][] = [['status'], ['status', '--json'], ['migrate'], ['agents', 'list'], ['users', 'list']];

  it('one-shot commands with the right secrets (URL and password files) work and print none of them', async () => {
    for (const args of ONE_SHOT) {
      const inUrl = await runOnce(args.join(' '), args, rightEnv);
      outputs.push(inUrl.output);
      expect({ args, code: inUrl.code, output: inUrl.output.slice(0, 300) }).toMatchObject({ code: 0 });
      const fromFiles = await runOnce(`${args.join(' ')} (files)`, [...args, '--redis-password-file', file('redis-pw', REDIS_PW), '--mysql-password-file', file('mysql-pw', MYSQL_PW)], {
        ...rightEnv,
        mysqlUrl: `mysql://${MYSQL_USER}@127.0.0.1:${mysqlProxy.port}/${env.database}`,
        redisUrl: `redis://127.0.0.1:${redis.port}`,
      });
      outputs.push(fromFiles.output);
      expect({ args, code: fromFiles.code }).toEqual({ args, code: 0 });
    }
    expect(leaksIn(outputs.join('\n'))).toEqual([]);
  }, 300_000);

  it('one-shot commands with a wrong secret say so in one line, exit non-zero, and never print it', async () => {
    const wrong: Array<[string, ProcessEnvironment, string[]]> = [
      ['redis password in the URL', { ...rightEnv, redisUrl: redis.url(WRONG_REDIS_PW) }, []],
      ['mysql password in the URL', { ...rightEnv, mysqlUrl: mysqlUrl(WRONG_MYSQL_PW) }, []],
      ['redis password file', { ...rightEnv, redisUrl: `redis://127.0.0.1:${redis.port}` }, ['--redis-password-file', file('wrong-redis', WRONG_REDIS_PW)]],
      ['mysql password file', { ...rightEnv, mysqlUrl: `mysql://${MYSQL_USER}@127.0.0.1:${mysqlProxy.port}/${env.database}` }, ['--mysql-password-file', file('wrong-mysql', WRONG_MYSQL_PW)]],
    ];
    for (const [what, processEnv, extra] of wrong) {
      for (const args of ONE_SHOT) {
        // migrate needs MySQL only: a wrong Redis password is not its business.
        if (args[0] !== 'status' && what.startsWith('redis')) continue;
        const { code, output } = await runOnce(`${args.join(' ')} (${what})`, [...args, ...extra], processEnv);
        outputs.push(output);
        expect({ what, args, code: code === 0 ? 0 : 'non-zero', lines: lines(output).length }).toEqual({ what, args, code: 'non-zero', lines: 1 });
        expect(output).toMatch(/^watched: .*(refused|Access denied|WRONGPASS)/);
      }
    }
    expect(leaksIn(outputs.join('\n'))).toEqual([]);
  }, 300_000);

  it('roles and up with a wrong secret at start-up: one line naming the option (exit code 2), or the server (up: exit code 1)', async () => {
    const cases: Array<[string[], ProcessEnvironment]> = [
      [['worker'], { ...rightEnv, redisUrl: redis.url(WRONG_REDIS_PW) }],
      [['coordinator'], { ...rightEnv, mysqlUrl: mysqlUrl(WRONG_MYSQL_PW) }],
      [['alerter', '--redis-password-file', file('wrong-redis-2', WRONG_REDIS_PW)], { ...rightEnv, redisUrl: `redis://127.0.0.1:${redis.port}` }],
      [['up', '--sim', '0'], { ...rightEnv, redisUrl: redis.url(WRONG_REDIS_PW) }],
    ];
    for (const [args, processEnv] of cases) {
      const { code, output } = await runOnce(args.join(' '), args, processEnv);
      outputs.push(output);
      const last = lines(output).at(-1) ?? '';
      // up first probes the servers it may replace by private ones: a refusing one is named as the server the user set.
      const expected = args[0] === 'up'
        ? { args, code: 1, last: expect.stringMatching(/^watched: Redis at 127\.0\.0\.1:\d+ does not answer \(WRONGPASS/) }
        : { args, code: 2, last: expect.stringMatching(/^watched: invalid option (redisUrl or redisPassword|mysqlUrl or mysqlPassword): /) };
      expect({ args, code, last }).toEqual(expected);
    }
    expect(leaksIn(outputs.join('\n'))).toEqual([]);
  }, 300_000);

  it('running roles (json, pretty, log files) whose Redis password changes and whose MySQL goes away: nothing leaks anywhere, /readyz and /metrics included', async () => {
    const token = file('admin-token', ADMIN_TOKEN);
    const logFiles = [join(dir, 'aggregator.log'), join(dir, 'alerter.log')];
    const specs: Array<[string, string[]]> = [
      ['worker', ['worker', '--log-format', 'json']],
      ['coordinator', ['coordinator', '--log-format', 'pretty']],
      ['aggregator', ['aggregator', '--log-file', logFiles[0]]],
      ['alerter', ['alerter', '--log-format', 'pretty', '--log-file', logFiles[1]]],
    ];
    for (const [label, args] of specs) roles.push(spawnWatched(label, [...args, '--admin-token-file', token, '--heartbeat-interval', '500ms'], rightEnv, { WATCHED_LOG_FORMAT: undefined }));
    const started = (role: RoleProcess, i: number) =>
      waitFor(`${role.label} started`, () => {
        if (!role.running) throw new Error(`${role.label} exited\n${role.tail()}`);
        const text = i < 2 ? role.output.join('') : existsSync(logFiles[i - 2]) ? readFileSync(logFiles[i - 2], 'utf8') : '';
        return /started \(node/.test(text);
      }, 40_000);
    await Promise.all(roles.map(started));
    // The worker's admin server logs to stdout; the others' lines are in files or pretty: their ports from the worker only.
    const admin = await adminUrlOf(roles[0]);
    const scrape = async () => {
      for (const [path, auth] of [['/readyz', false], ['/readyz', true], ['/metrics', true], ['/metrics', false]] as const) {
        const res = await fetch(`${admin}${path}`, auth ? { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } } : {});
        outputs.push(await res.text());
      }
    };
    await scrape();

    await redis.changePassword(NEW_REDIS_PW);
    await mysqlProxy.cut();
    const saysRedisDown = (i: number) => {
      const text = i < 2 ? roles[i].output.join('') : readFileSync(logFiles[i - 2], 'utf8');
      return /Redis at 127\.0\.0\.1:\d+ is unreachable/.test(text);
    };
    await waitFor('every role says Redis refuses it', () => roles.every((_r, i) => saysRedisDown(i)), 30_000);
    await scrape();
    await mysqlProxy.restore();

    for (const role of roles) await role.stop('SIGKILL').catch(() => undefined);
    const all = [...roles.map((r) => r.output.join('')), ...logFiles.map((f) => readFileSync(f, 'utf8'))];
    outputs.push(...all);
    expect(all.join('\n')).not.toContain('[ioredis]');
    expect(leaksIn(outputs.join('\n'))).toEqual([]);
    // The JSON role's lines are all JSON: nothing a library printed on its own.
    for (const line of lines(roles[0].output.join(''))) expect(() => JSON.parse(line)).not.toThrow();
  }, 300_000);
});

describe('an outage is a few clear lines; status and migrate with a server down say which, in one line', () => {
  let env: TestEnvironment;
  let redis: PrivateRedis;
  let worker: RoleProcess | undefined;

  beforeAll(async () => {
    env = await createTestEnvironment('quiet_outage');
    redis = await PrivateRedis.start();
  });
  afterAll(async () => {
    await worker?.stop('SIGKILL').catch(() => undefined);
    await redis?.kill();
    await env?.cleanup();
  });

  it('a worker through a 20 s Redis outage: at most a few JSON lines, none from a library, the start and the end said once', async () => {
    const processEnv = { mysqlUrl: env.mysqlUrl, redisUrl: redis.url(), prefix: env.prefix };
    worker = spawnWatched('worker', ['worker', '--heartbeat-interval', '500ms'], processEnv);
    await waitFor('worker started', () => /worker started/.test(worker!.output.join('')), 40_000);
    const before = worker.output.join('').length;
    await redis.kill();
    const outageStart = Date.now();
    await waitFor('outage said', () => /Redis at .* is unreachable/.test(worker!.output.join('').slice(before)), 20_000);
    // The outage itself: 20 s of a dead server (what is measured is what the worker says meanwhile).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 20_000 - (Date.now() - outageStart))));
    await redis.restart();
    await waitFor('recovery said', () => /Redis at .* is reachable again/.test(worker!.output.join('').slice(before)), 30_000);
    const during = lines(worker.output.join('').slice(before));
    expect(during.length).toBeLessThanOrEqual(10);
    for (const line of during) expect(() => JSON.parse(line)).not.toThrow();
    expect(during.filter((l) => /is unreachable/.test(l))).toHaveLength(1);
    expect(during.filter((l) => /reachable again/.test(l))).toHaveLength(1);
  }, 120_000);

  it('status, migrate and agents list with Redis or MySQL down: one line naming it and where, exit code 1', async () => {
    await redis.kill();
    const down = { mysqlUrl: env.mysqlUrl, redisUrl: redis.url(), prefix: env.prefix };
    const status = await runOnce('status (redis down)', ['status'], down);
    expect({ code: status.code, lines: lines(status.output) }).toEqual({ code: 1, lines: [`watched: Redis at 127.0.0.1:${redis.port} is unreachable: connect ECONNREFUSED 127.0.0.1:${redis.port}`] });
    const proxy = new TcpProxy('127.0.0.1', 3306);
    const port = await proxy.start();
    await proxy.cut();
    const noMysql = { ...down, mysqlUrl: `mysql://root@127.0.0.1:${port}/${env.database}` };
    for (const args of [['status', '--json'], ['migrate'], ['agents', 'list'], ['users', 'list']]) {
      const { code, output } = await runOnce(args.join(' '), args, noMysql);
      expect({ args, code, lines: lines(output) }).toEqual({ args, code: 1, lines: [expect.stringMatching(new RegExp(`^watched: MySQL at 127\\.0\\.0\\.1:${port} is unreachable`))] });
    }
    // A multi-host URL with every host down: the same one line, after one walk of the list, not after the
    // 30 s a running role waits for a failover to end (runOnce gives up after 40 s).
    const other = new TcpProxy('127.0.0.1', 3306);
    const otherPort = await other.start();
    await other.cut();
    const noWriter = { ...down, mysqlUrl: `mysql://root@127.0.0.1:${port},127.0.0.1:${otherPort}/${env.database}` };
    for (const args of [['agents', 'list'], ['migrate']]) {
      const startedAt = Date.now();
      const { code, output } = await runOnce(`${args.join(' ')} (no writer)`, args, noWriter);
      const tookMs = Date.now() - startedAt;
      expect({ args, code, lines: lines(output) }).toEqual({ args, code: 1, lines: [expect.stringMatching(/^watched: MySQL at .* is unreachable.*no writable MySQL host/)] });
      expect(output).toContain(`127.0.0.1:${port}`);
      expect(output).toContain(`127.0.0.1:${otherPort}`);
      expect(tookMs).toBeLessThan(25_000);
    }
    await other.close();
    await proxy.close();
  }, 300_000);
});
