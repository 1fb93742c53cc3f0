import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ADMIN_PATHS } from '@watched/core';
import { createTestEnvironment, waitFor, type TestEnvironment } from '@watched/core/testing';
import { adminUrlOf, spawnWatched, WATCHED_BIN, type RoleProcess } from './processes.js';

const run = promisify(execFile);

/** Whether nothing listens on 127.0.0.1:port now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * Two roles on one host with their default admin ports (the README's role
 * list run in two terminals): each answers on its own port; a third process
 * on a taken port exits at once with one line naming the option to set.
 * The only test binding the default ports (the others take port 0).
 */
describe('several roles on one host, default admin ports', () => {
  let env: TestEnvironment;
  const processes: RoleProcess[] = [];
  // The defaults are what is tested: WATCHED_ADMIN_LISTEN unset (spawnWatched sets port 0 otherwise).
  const spawn = (label: string, args: string[]) => {
    const role = spawnWatched(label, args, { mysqlUrl: env.mysqlUrl, redisUrl: env.redisUrl, prefix: env.prefix }, { WATCHED_ADMIN_LISTEN: undefined });
    processes.push(role);
    return role;
  };

  beforeAll(async () => {
    env = await createTestEnvironment('admin_ports');
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL').catch(() => undefined)));
    await env?.cleanup();
  });

  it('--help shows each role its own default', async () => {
    for (const [role, port] of [['coordinator', 9464], ['worker', 9465], ['aggregator', 9466], ['alerter', 9467], ['up', 9464]] as const) {
      const { stdout } = await run(process.execPath, [WATCHED_BIN, role, '--help']);
      expect([role, /--admin-listen[^[]*\[env WATCHED_ADMIN_LISTEN\] \[default: ([^\]]+)\]/.exec(stdout.replace(/\s+/g, ' '))?.[1]]).toEqual([role, `127.0.0.1:${port}`]);
    }
  });

  it('coordinator and worker side by side answer /healthz on their own ports; a third on a taken port says which option to set', async () => {
    // Another run of this file (another checkout on this machine) may hold them for a while.
    await waitFor('ports 9464 and 9465 free', async () => (await portFree(9464)) && (await portFree(9465)), 60_000, 500);
    const coordinator = spawn('coordinator', ['coordinator']);
    const worker = spawn('worker', ['worker']);
    expect(await adminUrlOf(coordinator)).toBe('http://127.0.0.1:9464');
    expect(await adminUrlOf(worker)).toBe('http://127.0.0.1:9465');
    for (const url of ['http://127.0.0.1:9464', 'http://127.0.0.1:9465']) {
      const res = await fetch(url + ADMIN_PATHS.health);
      expect([url, res.status]).toEqual([url, 200]);
    }

    const second = spawn('second worker', ['worker']);
    expect(await second.exited).toBe(2);
    const text = second.output.join('');
    // Its JSON log lines aside, one line: the option, the address, what to do.
    const said = text.split('\n').filter((l) => l.trim() && !l.startsWith('{'));
    expect(said).toEqual([
      'watched: invalid option adminListen: 127.0.0.1:9465 is in use (another watched process on this host?); set --admin-listen or WATCHED_ADMIN_LISTEN to a free ADDR:PORT (port 0 picks one)',
    ]);
    expect(text).not.toMatch(/EADDRINUSE|\n\s+at /);
    // The two first ones went on.
    expect(coordinator.running && worker.running).toBe(true);
    expect((await fetch('http://127.0.0.1:9465' + ADMIN_PATHS.health)).status).toBe(200);
    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(await coordinator.stop('SIGTERM')).toBe(0);
  });
});
