import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import { parseWorkerOptions } from './worker-options.js';
import { PollWorker } from './worker.js';

describe('PollWorker start-up', () => {
  let env: TestEnvironment;
  let dir: string;

  beforeAll(async () => {
    env = await createTestEnvironment('worker-start');
    dir = mkdtempSync(join(tmpdir(), 'watched-worker-start-'));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await env.cleanup();
  });

  it('fails half-way (the agent CA file vanished after the options were read) and closes what it had opened', async () => {
    const ca = join(dir, 'agents-ca.pem');
    writeFileSync(ca, 'not read before start');
    const options = parseWorkerOptions({ agentTlsCa: ca, publishAlerts: true });
    rmSync(ca); // e.g. a Secret unmounted between start-up checks and start
    const worker = new PollWorker(env.roleContext('worker', { nodeId: `worker-start-${process.pid}` }), options);

    await expect(worker.start()).rejects.toThrow(/agentTlsCa/);

    expect(worker.context.lifecycle).toBe('FAILED');
    // The command connection (alert publisher) was opened before the agent client: a leak would have
    // connected and named itself by now (CLIENT SETNAME follows the connect within milliseconds).
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const left = String(await env.redis.client('LIST'))
      .split('\n')
      .filter((line) => line.includes(`@${worker.context.nodeId}`));
    expect(left).toEqual([]);
    await worker.close(); // idempotent after a failed start
  });
});
