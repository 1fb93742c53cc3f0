import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis as StandaloneRedis } from 'ioredis';
import { createRedis } from './redis.js';
import { RedisSentinelSet } from './testing/redis-sentinel-set.js';
import { waitFor } from './testing/wait-for.js';

/** Port of the server a client's socket goes to now. */
function serverPort(client: StandaloneRedis): number | undefined {
  return (client.stream as { remotePort?: number } | undefined)?.remotePort;
}

/** Names of the connections a sentinel has now (CLIENT LIST). */
async function sentinelClientNames(set: RedisSentinelSet): Promise<string[]> {
  const lists = await Promise.all(set.sentinels.map((s) => s.with((c) => c.call('CLIENT', 'LIST')) as Promise<string>));
  return lists.flatMap((list) => [...list.matchAll(/ name=(\S*)/g)].map((m) => m[1]));
}

/**
 * Sentinel clients (createRedis with redis+sentinel://) against a private
 * Sentinel set: they follow master switches, and none stays closed unless
 * it was closed.
 */
describe('Sentinel clients across failovers', () => {
  let set: RedisSentinelSet;

  beforeAll(async () => {
    set = await new RedisSentinelSet().start();
  }, 90_000);

  afterAll(async () => {
    await set?.stop();
  }, 30_000);

  it('SENTINEL FAILOVER with the old master alive: a connected client and its duplicate move to the new master', async () => {
    const client = createRedis(set.url, { connectionName: 'switch-test' }) as StandaloneRedis;
    client.on('error', () => undefined);
    const copy = client.duplicate();
    try {
      await Promise.all([client.ping(), copy.ping()]);
      const before = (await set.masterPort())!;
      expect(serverPort(client)).toBe(before);
      await set.failover();
      const promoted = await set.promotedFrom(before);
      // The old master lives on (a replica soon): nothing but the switch message moves a client off it.
      await waitFor('both clients on the promoted master', async () => serverPort(client) === promoted && serverPort(copy) === promoted && client.status === 'ready' && copy.status === 'ready', 20_000, 100);
      expect(await client.set('switch-test', 'written')).toBe('OK');
      await set.settled();
    } finally {
      client.disconnect();
      copy.disconnect();
    }
  }, 60_000);

  it('a client that ioredis ends on its own while reconnecting (a connect aborted mid-way) connects again', async () => {
    const client = createRedis(set.url, { blocking: true, connectionName: 'revive-test' }) as StandaloneRedis;
    let aborted = false;
    client.on('error', (err: Error) => {
      // The "All sentinels are unreachable" retry is inside connect(): abort it there, as ioredis's own
      // failover detector did when +switch-master arrived at that moment (the client then stayed `end`).
      if (!aborted && err.message.startsWith('All sentinels are unreachable')) {
        aborted = true;
        (client as unknown as { connector: { disconnect(): void } }).connector.disconnect();
      }
    });
    try {
      await client.ping();
      const master = (await set.masterPort())!;
      await set.node(master).kill();
      const promoted = await set.promotedFrom(master);
      await waitFor('the client to answer again', () => client.ping().then(() => true, () => false), 30_000, 200);
      expect(aborted).toBe(true);
      expect(serverPort(client)).toBe(promoted);
      await set.node(master).start();
      await set.settled();
    } finally {
      client.disconnect();
    }
  }, 90_000);

  it('a master killed -9: every client and duplicate (one in a blocking wait) answers again; closed, none keeps a sentinel subscription', async () => {
    const clients = [0, 1, 2].map((i) => createRedis(set.url, { blocking: i === 0, connectionName: `kill-test-${i}` }) as StandaloneRedis);
    const all = [...clients, ...clients.map((c) => c.duplicate())];
    for (const c of all) c.on('error', () => undefined);
    try {
      await Promise.all(all.map((c) => c.ping()));
      expect(await sentinelClientNames(set)).toContain('watched-sentinel-switch');
      const waiting = all[3].blpop('kill-test-list', 0);
      const master = (await set.masterPort())!;
      await set.node(master).kill();
      const promoted = await set.promotedFrom(master);
      // (Not the one in BLPOP: its connection answers nothing else until the wait ends.)
      const others = all.filter((_, i) => i !== 3);
      await waitFor('every client to answer again', async () => (await Promise.all(others.map((c) => c.ping().then(() => true, () => false)))).every(Boolean), 30_000, 200);
      // The blocking wait was sent again to the new master: it is served there.
      await all[1].rpush('kill-test-list', 'x');
      expect(await waiting).toEqual(['kill-test-list', 'x']);
      expect(all.map((c) => serverPort(c))).toEqual(all.map(() => promoted));
      await set.node(master).start();
      await set.settled();
    } finally {
      await Promise.all(all.map((c) => c.quit().catch(() => c.disconnect())));
    }
    // The process-wide +switch-master subscriptions end with the last client (they would keep a process alive).
    await waitFor('no switch subscription left', async () => !(await sentinelClientNames(set)).includes('watched-sentinel-switch'), 10_000, 100);
  }, 90_000);
});
