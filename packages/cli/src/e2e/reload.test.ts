import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readMembers } from '@watched/core';
import { createTestEnvironment, type TestEnvironment, waitFor } from '@watched/core/testing';
import { spawnWatched, type RoleProcess } from './processes.js';

/**
 * SIGHUP / SIGUSR1 on a running `watched worker` configured by a file: a
 * changed file is applied (log level, log file reopened after a logrotate
 * move, worker concurrency as `watched status` shows it), options that need
 * a restart are named, and a broken file is refused with the field named
 * while the process keeps running on its old configuration.
 */
describe('configuration reload (SIGHUP, SIGUSR1)', () => {
  let env: TestEnvironment;
  let dir: string;
  let worker: RoleProcess | undefined;

  beforeAll(async () => {
    env = await createTestEnvironment('reload');
    dir = mkdtempSync(join(tmpdir(), 'watched-reload-'));
  });
  afterAll(async () => {
    await worker?.stop('SIGKILL').catch(() => undefined);
    await env?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const logFile = () => join(dir, 'watched.log');
  const configFile = () => join(dir, 'watched.yaml');
  const writeConfig = (text: string) => writeFileSync(configFile(), text);
  const lines = (path = logFile()) =>
    existsSync(path)
      ? readFileSync(path, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>)
      : [];
  const logged = (pattern: RegExp, path?: string) => lines(path).find((l) => pattern.test(String(l.message)));
  const concurrency = async () => {
    const [member] = (await readMembers(env.redis, env.keys, Date.now())).filter((m) => m.role === 'worker');
    return member?.details.concurrency;
  };

  it('applies a changed file, reopens the log file, names restart-only options, refuses a broken file', async () => {
    writeConfig(`logLevel: info\nlogFile: ${logFile()}\nworkerConcurrency: 2\nheartbeatInterval: 300ms\n`);
    // The config file decides the log level: no WATCHED_LOG_LEVEL (it would win over the file).
    worker = spawnWatched('worker', ['worker', '--config', configFile()], env, { WATCHED_LOG_LEVEL: undefined });
    await waitFor('the worker started (in the log file)', () => logged(/^worker started \(node /), 20_000, 100);
    const started = logged(/^worker started \(node /)!;
    // JSON lines carry the role and the node id.
    expect(started).toMatchObject({ level: 'info', role: 'worker', nodeId: expect.stringMatching(/:\d+:/) });
    expect(lines().some((l) => l.level === 'debug')).toBe(false);
    expect(await waitFor('concurrency 2 in the membership', async () => (await concurrency()) === 2, 10_000, 100)).toBe(true);

    // logrotate moves the file away, the file is changed, SIGHUP.
    renameSync(logFile(), `${logFile()}.1`);
    writeConfig(`logLevel: debug\nlogFile: ${logFile()}\nworkerConcurrency: 5\nheartbeatInterval: 300ms\nagentTimeout: 10s\n`);
    worker.child.kill('SIGHUP');
    const reloaded = await waitFor('the reload in the new log file', () => logged(/^configuration reloaded \(SIGHUP\)/), 10_000, 100);
    expect(String(reloaded.message)).toMatch(/applied .*logLevel/);
    expect(String(reloaded.message)).toMatch(/workerConcurrency/);
    expect(logged(/^option agentTimeout changed, takes effect after restart$/)).toMatchObject({ level: 'warn', role: 'worker' });
    expect(lines().some((l) => l.level === 'debug')).toBe(true); // the new level is in force
    expect(logged(/configuration reloaded/, `${logFile()}.1`)).toBeUndefined(); // nothing written to the moved file after the reload
    await waitFor('concurrency 5 in the membership', async () => (await concurrency()) === 5, 10_000, 100);

    // A broken file: refused with the field named, the running configuration stays.
    writeConfig(`logLevel: info\nlogFile: ${logFile()}\nworkerConcurrency: many\n`);
    worker.child.kill('SIGUSR1');
    const refused = await waitFor('the refusal', () => logged(/refused/), 10_000, 100);
    expect(refused).toMatchObject({ level: 'error', role: 'worker' });
    expect(String(refused.message)).toMatch(/workerConcurrency/);
    await new Promise((r) => setTimeout(r, 1000)); // a few heartbeats
    expect(worker.running).toBe(true);
    expect(await concurrency()).toBe(5);
    const debugBefore = lines().filter((l) => l.level === 'debug').length;

    // A file that names an unknown option is refused the same way (a typo must not pass silently).
    writeConfig(`logLevel: debug\nlogFile: ${logFile()}\nworkerConcurency: 3\n`);
    worker.child.kill('SIGHUP');
    await waitFor('the second refusal', () => lines().filter((l) => /refused/.test(String(l.message))).length === 2, 10_000, 100);
    expect(String(lines().filter((l) => /refused/.test(String(l.message)))[1].message)).toMatch(/workerConcurency.*unknown option/);

    // Still the debug level of the last good file: the refused files set info, and nothing changed.
    writeConfig(`logLevel: debug\nlogFile: ${logFile()}\nworkerConcurrency: 5\nheartbeatInterval: 300ms\nagentTimeout: 10s\n`);
    worker.child.kill('SIGHUP');
    await waitFor('a third reload', () => lines().filter((l) => /^configuration reloaded/.test(String(l.message))).length === 2, 10_000, 100);
    expect(lines().filter((l) => l.level === 'debug').length).toBeGreaterThan(debugBefore);
    // agentTimeout still differs from what runs: named again.
    expect(lines().filter((l) => /^option agentTimeout changed/.test(String(l.message))).length).toBe(2);

    // A log file that cannot be written: the logger keeps its file (the error is in it), the process goes on.
    writeConfig(`logLevel: debug\nlogFile: ${join(dir, 'missing', 'watched.log')}\nworkerConcurrency: 5\nheartbeatInterval: 300ms\nagentTimeout: 10s\n`);
    worker.child.kill('SIGHUP');
    const unwritable = await waitFor('the log file refused', () => logged(/invalid option logFile: cannot write/), 10_000, 100);
    expect(unwritable).toMatchObject({ level: 'error', role: 'worker' });
    expect(worker.running).toBe(true);

    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(logged(/^stopped$/)).toBeDefined();
  });
});
