import { afterAll, describe, expect, it } from '@jest/globals';
import { startFleet, type AgentFleet } from './fleet.js';
import { get } from './test-client.js';
import type { AllResponse, SwaggerDocument } from './types.js';

const T0 = 1_795_952_906_640.25;
let fleet: AgentFleet | undefined;
afterAll(async () => {
  await fleet?.close();
});

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

describe('scale', () => {
  it('serves 2,000 of 10,000 hosts from one process, each on its own address', async () => {
    fleet = await startFleet({ hosts: 10_000, port: 0, now: () => T0 });
    const f = fleet;
    expect(f.agents()).toHaveLength(10_000);
    expect(f.agent(9_999).host).toBe('127.20.39.16');
    const indexes = Array.from({ length: 2_000 }, (_, i) => (i * 5 + 3) % 10_000);
    const seen = new Map<number, string>();
    await pool(indexes, 64, async (i) => {
      const res = await get(`${f.url(i)}/all?since=${T0 - 10_000}`);
      expect(res.status).toBe(200);
      const body = JSON.parse(res.body) as AllResponse;
      seen.set(i, body.services['sshd-tcp_0.0.0.0_22'].logs.host);
    });
    expect(seen.size).toBe(2_000);
    for (const [i, hostname] of seen) expect(hostname).toBe(f.agent(i).hostname);
    expect(new Set(seen.values()).size).toBe(2_000);
    const doc = JSON.parse((await get(`${f.url(9_999)}/api/swagger.json`)).body) as SwaggerDocument;
    expect(doc.paths['/system/memory/memory/history']['x-host']).toBe('sim-10000');
  });
});
