import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestEnvironment, freePort, waitFor, type TestEnvironment } from '@watched/core/testing';
import { spawnWatched } from './processes.js';

/**
 * A process stopped while it is still starting (Kubernetes scales down a pod
 * that has just been scheduled; an operator presses Ctrl-C) exits 0, having
 * started nothing, rather than dying by the signal with connections half open.
 */
describe('SIGTERM while a command starts', () => {
  let env: TestEnvironment;

  beforeAll(async () => {
    env = await createTestEnvironment('stop-while-starting', { migrate: false });
  });
  afterAll(async () => {
    await env.cleanup();
  });

  it('during the migrations of `up`: finishes them, starts no role, exits 0', async () => {
    const up = spawnWatched('up-migrating', ['up', '--sim', '1', '--sim-port', String(await freePort())], env);
    // The first of several migrations of an empty database: the process is past module loading and before its roles.
    await waitFor('the first migration', () => up.output.join('').includes('applying migration 0001'), 20_000);
    expect(await up.stop('SIGTERM', 20_000)).toBe(0);
    const output = up.output.join('');
    expect(output).toMatch(/SIGTERM received while starting/);
    expect(output).toMatch(/schema ready/);
    expect(output).not.toMatch(/(worker|coordinator|aggregator|alerter) started/);
    expect(output).toMatch(/"message":"stopped"/);
  });
});
