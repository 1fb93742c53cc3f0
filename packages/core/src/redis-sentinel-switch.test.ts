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

  // One kill -9 for everything: a sentinel that led a failover starts none for the same master for twice
  // failover-timeout (20 s here), so a second kill soon after would wait that long for its promotion.
  it('a master killed -9: every client and duplicate (one in a blocking wait, one whose reconnect ioredis aborts) answers again; closed, none keeps a sentinel subscription', async () => {
    const clients = [0, 1, 2].map((i) => createRedis(set.url, { blocking: i === 0, connectionName: `kill-test-${i}` }) as StandaloneRedis);
    const all = [...clients, ...clients.map((c) => c.duplicate())];
    for (const c of all) c.on('error', () => undefined);
    const aborting = createRedis(set.url, { blocking: true, connectionName: 'revive-test' }) as StandaloneRedis;
    aborting.on('error', () => undefined);
    let aborted = false;
    const everyone = [...all, aborting];
    try {
      await Promise.all(everyone.map((c) => c.ping()));
      expect(await sentinelClientNames(set)).toContain('watched-sentinel-switch');
      const waiting = all[3].blpop('kill-test-list', 0);
      const master = (await set.masterPort())!;
      await set.node(master).kill();
      // Its first reconnect, inside connect() (asking a sentinel for the master): abort it there, as ioredis's own
      // failover detector did when +switch-master arrived at such a moment (the client then stayed `end` for good).
      aborting.once('connecting', () => {
        aborted = true;
        (aborting as unknown as { connector: { disconnect(): void } }).connector.disconnect();
      });
      const promoted = await set.promotedFrom(master, 60_000);
      // (Not the one in BLPOP: its connection answers nothing else until the wait ends.)
      const answering = everyone.filter((c) => c !== all[3]);
      await waitFor('every client to answer again', async () => (await Promise.all(answering.map((c) => c.ping().then(() => true, () => false)))).every(Boolean), 30_000, 200);
      expect(aborted).toBe(true);
      // The blocking wait was sent again to the new master: it is served there.
      await all[1].rpush('kill-test-list', 'x');
      expect(await waiting).toEqual(['kill-test-list', 'x']);
      expect(everyone.map((c) => serverPort(c))).toEqual(everyone.map(() => promoted));
    } finally {
      // disconnect, not quit: a QUIT would wait behind a BLPOP still blocked after a failed expectation.
      for (const c of everyone) c.disconnect();
    }
    // The process-wide +switch-master subscriptions end with the last client (they would keep a process alive).
    await waitFor('no switch subscription left', async () => !(await sentinelClientNames(set)).includes('watched-sentinel-switch'), 10_000, 100);
    const master = await set.masterPort();
    await set.dataNodes.find((n) => !n.running)!.start();
    await set.settled();
    expect(await set.masterPort()).toBe(master);
  }, 150_000);

  it('SENTINEL FAILOVER with the old master alive: a write right after the promotion lands on the new master, and the clients end up there', async () => {
    const client = createRedis(set.url, { connectionName: 'switch-test' }) as StandaloneRedis;
    client.on('error', () => undefined);
    const copy = client.duplicate();
    try {
      await Promise.all([client.ping(), copy.ping()]);
      const before = (await set.masterPort())!;
      expect(serverPort(client)).toBe(before);
      await set.failover();
      const promoted = await set.promotedFrom(before);
      // The old master still takes writes until the sentinels turn it into a replica (seconds later), and then
      // drops them (it resyncs from the new one): only the switch message moves a client off it in time.
      await client.set('switch-test', 'after-promotion');
      await set.settled();
      expect(await set.node(promoted).with((c) => c.get('switch-test'))).toBe('after-promotion');
      await waitFor('both clients on the promoted master', async () => serverPort(client) === promoted && serverPort(copy) === promoted && client.status === 'ready' && copy.status === 'ready', 20_000, 100);
    } finally {
      client.disconnect();
      copy.disconnect();
    }
  }, 60_000);

});
