import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/watched.js', import.meta.url));

describe('watched agents (the real command)', () => {
  let env: TestEnvironment;
  const watched = (...args: string[]) =>
    run(process.execPath, [BIN, ...args], { env: { ...process.env, WATCHED_MYSQL_URL: env.mysqlUrl, WATCHED_LOG_LEVEL: 'warn' } });

  beforeAll(async () => {
    env = await createTestEnvironment('cli_agents');
  });
  afterAll(async () => env.cleanup());

  it('adds, lists as JSON, refuses bad input, and removes agents', async () => {
    expect((await watched('agents', 'add', 'web1.example.org', '--port', '9081', '--freq', '60', '--ssl')).stdout).toMatch(/added web1.example.org:9081/);
    expect((await watched('agents', 'add', 'web1.example.org', '--port', '9081')).stdout).toMatch(/already registered/);
    const listed = JSON.parse((await watched('agents', 'list', '--json')).stdout);
    expect(listed).toEqual([expect.objectContaining({ host: 'web1.example.org', port: 9081, pollIntervalS: 60, useSsl: true, lastPoll: null })]);
    await expect(watched('agents', 'add', 'bad host/../x')).rejects.toMatchObject({ stderr: expect.stringMatching(/invalid agent host/) });
    await expect(watched('agents', 'list', '--group-size', 'x')).rejects.toMatchObject({ code: 2 });
    expect((await watched('agents', 'remove', 'web1.example.org:9081')).stdout).toMatch(/removed 1/);
    await expect(watched('agents', 'remove', 'web1.example.org')).rejects.toMatchObject({ code: 1 });
  });

  it('imports a CSV file: bad rows reported by line, good rows imported once, known ones updated', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'watched-import-'));
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const failed = (promise: Promise<unknown>) => promise.then(() => ({ code: 0, stdout: '', stderr: '' }), (err: { code: number; stdout: string; stderr: string }) => err);
    try {
      const csv = file(
        'agents.csv',
        [
          'host,port,pool_freq,use_ssl',
          'imp1.example.org,9080,60,yes',
          'imp2.example.org,9081,,',
          'bad host,9080,60,no',
          'imp3.example.org,notaport,60,no',
          'imp4.example.org,9080,999999,no',
          'IMP1.example.org,9080,30,no',
          'imp5.example.org,9082,120,maybe',
          'imp6.example.org,9083',
          '',
          '"imp7.example.org",9084,300,0',
        ].join('\n') + '\n',
      );
      const first = await failed(watched('agents', 'import', csv));
      expect(first.code).toBe(1); // bad rows make the command fail, after importing the good ones
      expect(first.stdout).toMatch(/3 added, 0 updated, 0 unchanged, 6 bad row\(s\) skipped/);
      const reported = first.stderr.split('\n').filter((l) => l.startsWith(csv)).map((l) => l.slice(csv.length));
      expect(reported).toEqual([
        expect.stringMatching(/^:4: invalid agent host/),
        expect.stringMatching(/^:5: port must be a whole number/),
        expect.stringMatching(/^:6: invalid poll frequency/),
        expect.stringMatching(/^:7: IMP1.example.org:9080 is already on line 2/),
        expect.stringMatching(/^:8: use_ssl must be/),
        expect.stringMatching(/^:9: expected 4 fields, got 2/),
      ]);
      expect(first.stderr).toMatch(/importing agents: 3\/3 agents \(100%\)/); // plain progress lines off a terminal

      const listed = () => watched('agents', 'list', '--json').then((r) => JSON.parse(r.stdout) as Array<Record<string, unknown>>);
      const imported = (await listed()).filter((a) => String(a.host).startsWith('imp'));
      expect(imported.map((a) => [a.host, a.port, a.pollIntervalS, a.useSsl])).toEqual([
        ['imp1.example.org', 9080, 60, true],
        ['imp2.example.org', 9081, 300, false],
        ['imp7.example.org', 9084, 300, false],
      ]);

      // The same file again changes nothing; a changed frequency updates the known agent.
      expect((await failed(watched('agents', 'import', csv))).stdout).toMatch(/0 added, 0 updated, 3 unchanged/);
      const changed = file('changed.csv', 'port,host,pool_freq\n9080,imp1.example.org,120\n9085,imp8.example.org,30\n');
      expect((await watched('agents', 'import', changed)).stdout).toMatch(/1 added, 1 updated, 0 unchanged, 0 bad/);
      expect((await listed()).find((a) => a.host === 'imp1.example.org')).toMatchObject({ pollIntervalS: 120, useSsl: false });

      // A file that cannot be read as agents at all: exit code 2, nothing imported.
      const wrongHeader = await failed(watched('agents', 'import', file('wrong.csv', 'hostname,port\nimp9.example.org,9080\n')));
      expect(wrongHeader).toMatchObject({ code: 2, stderr: expect.stringMatching(/line 1: unknown column\(s\) hostname/) });
      expect(await failed(watched('agents', 'import', join(dir, 'missing.csv')))).toMatchObject({ code: 2, stderr: expect.stringMatching(/cannot read/) });
      expect((await listed()).some((a) => a.host === 'imp9.example.org')).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lists the last poll result and the lag of each agent', async () => {
    await watched('agents', 'add', 'polled-ok.example.org');
    await watched('agents', 'add', 'polled-bad.example.org');
    const now = Date.now();
    await env.pool.query(
      'INSERT INTO `agt$state` (agt_id, since, last_poll, last_ok, consecutive_failures, last_error) ' +
        "SELECT id, ?, ?, ?, 0, NULL FROM `c$agents` WHERE host = 'polled-ok.example.org'",
      [now - 90_000, now - 30_000, now - 30_000],
    );
    await env.pool.query(
      'INSERT INTO `agt$state` (agt_id, since, last_poll, last_ok, consecutive_failures, last_error) ' +
        "SELECT id, ?, ?, ?, 2, 'network error' FROM `c$agents` WHERE host = 'polled-bad.example.org'",
      [now - 3_600_000, now - 10_000, now - 3_600_000],
    );
    const agents = JSON.parse((await watched('agents', 'list', '--json')).stdout) as Array<Record<string, unknown>>;
    const ok = agents.find((a) => a.host === 'polled-ok.example.org')!;
    const bad = agents.find((a) => a.host === 'polled-bad.example.org')!;
    expect(ok).toMatchObject({ lastResult: 'ok', consecutiveFailures: 0 });
    expect(ok.lagMs).toBeGreaterThanOrEqual(90_000);
    expect(ok.lagMs).toBeLessThan(3_600_000);
    expect(bad).toMatchObject({ lastResult: 'failed', consecutiveFailures: 2, lastError: 'network error' });
    expect(bad.lagMs).toBeGreaterThanOrEqual(3_600_000);
    expect(agents.find((a) => a.host === 'imp2.example.org')).toMatchObject({ lastResult: null, lagMs: null });

    // One found by discovery and since retired (agt$discovery, migration 0010): its SOURCE says so; the others were added by hand.
    await env.pool.query(
      "INSERT INTO `agt$discovery` (agent_id, sources, first_seen, dropped_at, retired_at, term) SELECT id, 'dns:agents.svc:9080', ?, ?, ?, 1 FROM `c$agents` WHERE host = 'imp2.example.org'",
      [now - 7_200_000, now - 700_000, now - 60_000],
    );
    const table = (await watched('agents', 'list')).stdout.split('\n');
    expect(table[0].split('\t')).toEqual(['ID', 'AGENT', 'FREQ', 'SSL', 'SOURCE', 'LAST POLL', 'RESULT', 'LAG', 'LAST OK', 'FAILURES', 'POLLED', 'NEXT RETRY', 'LAST ERROR']);
    expect(table.find((l) => l.includes('polled-bad.example.org'))!.split('\t').slice(4, 8)).toEqual(['manual', expect.any(String), 'failed', '60m']);
    expect(table.find((l) => l.includes('imp2.example.org'))!.split('\t')[4]).toMatch(/^retired \d+s ago \(dns:agents.svc:9080\)$/);
    const listed = JSON.parse((await watched('agents', 'list', '--json')).stdout) as Array<Record<string, unknown>>;
    expect(listed.find((a) => a.host === 'imp2.example.org')).toMatchObject({ origin: 'dns:agents.svc:9080', retiredAt: now - 60_000 });
  });

  it('shows which agents are polled off the hot path: slow (retry due) or backed off (next retry later)', async () => {
    await watched('agents', 'add', 'hanging.example.org');
    await watched('agents', 'add', 'slow-due.example.org');
    const now = Date.now();
    const state = (host: string, slowPolls: number, retryAt: number) =>
      env.pool.query(
        'INSERT INTO `agt$state` (agt_id, last_poll, consecutive_failures, last_error, slow_polls, retry_at) ' +
          "SELECT id, ?, ?, 'timeout', ?, ? FROM `c$agents` WHERE host = ?",
        [now - 5000, slowPolls, slowPolls, retryAt, host],
      );
    await state('hanging.example.org', 4, now + 3 * 3_600_000);
    await state('slow-due.example.org', 1, now - 1000);
    const agents = JSON.parse((await watched('agents', 'list', '--json')).stdout) as Array<Record<string, unknown>>;
    expect(agents.find((a) => a.host === 'hanging.example.org')).toMatchObject({ pollLane: 'backed off', slowPolls: 4, retryAt: now + 3 * 3_600_000 });
    expect(agents.find((a) => a.host === 'slow-due.example.org')).toMatchObject({ pollLane: 'slow', slowPolls: 1 });
    expect(agents.find((a) => a.host === 'polled-ok.example.org')).toMatchObject({ pollLane: 'normal', slowPolls: 0, retryAt: null });
    const table = (await watched('agents', 'list')).stdout.split('\n');
    const columns = (host: string) => table.find((l) => l.includes(host))!.split('\t').slice(10, 12);
    expect(columns('hanging.example.org')).toEqual(['backed off', 'in 3h']);
    expect(columns('slow-due.example.org')).toEqual(['slow', 'due']);
    expect(columns('polled-ok.example.org')).toEqual(['normal', '-']);
  }, 120_000);

  it('names the bad option and its source, with exit code 2', async () => {
    const failed = await run(process.execPath, [BIN, 'agents', 'list'], {
      env: { ...process.env, WATCHED_MYSQL_URL: 'postgres://x/y' },
    }).catch((err: { code: number; stderr: string }) => err);
    expect(failed).toMatchObject({ code: 2, stderr: expect.stringMatching(/mysqlUrl.*WATCHED_MYSQL_URL/) });
  });
});
