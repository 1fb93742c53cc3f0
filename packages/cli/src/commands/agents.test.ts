import { execFile } from 'node:child_process';
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
    expect(listed).toEqual([expect.objectContaining({ host: 'web1.example.org', port: 9081, frequency: 60, useSsl: true, lastPoll: null })]);
    await expect(watched('agents', 'add', 'bad host/../x')).rejects.toMatchObject({ stderr: expect.stringMatching(/invalid agent host/) });
    await expect(watched('agents', 'list', '--group-size', 'x')).rejects.toMatchObject({ code: 2 });
    expect((await watched('agents', 'remove', 'web1.example.org:9081')).stdout).toMatch(/removed 1/);
    await expect(watched('agents', 'remove', 'web1.example.org')).rejects.toMatchObject({ code: 1 });
  });

  it('names the bad option and its source, with exit code 2', async () => {
    const failed = await run(process.execPath, [BIN, 'agents', 'list'], {
      env: { ...process.env, WATCHED_MYSQL_URL: 'postgres://x/y' },
    }).catch((err: { code: number; stderr: string }) => err);
    expect(failed).toMatchObject({ code: 2, stderr: expect.stringMatching(/mysqlUrl.*WATCHED_MYSQL_URL/) });
  });
});
