import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRedis } from '../redis.js';
import { RedisProcess } from '../testing/redis-process.js';
import { freePort } from '../testing/tls-servers.js';
import { redisMasterReadiness, redisReadiness } from './readiness.js';

/** A private master and its replica: PING answers on both, only the master takes writes. */
describe('redisMasterReadiness', () => {
  let dir: string;
  let master: RedisProcess;
  let replica: RedisProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'watched-readiness-'));
    master = new RedisProcess(await freePort(), join(dir, 'master'), ['save ""', 'appendonly no']);
    await master.start();
    replica = new RedisProcess(await freePort(), join(dir, 'replica'), ['save ""', 'appendonly no', `replicaof 127.0.0.1 ${master.port}`]);
    await replica.start();
  }, 60_000);
  afterAll(async () => {
    await replica?.kill();
    await master?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is ready on a master, unready on a replica that still answers PING', async () => {
    const onMaster = createRedis(`redis://127.0.0.1:${master.port}`);
    const onReplica = createRedis(`redis://127.0.0.1:${replica.port}`);
    try {
      await expect(Promise.resolve(redisMasterReadiness(onMaster).check())).resolves.toBeUndefined();
      await expect(Promise.resolve(redisReadiness(onReplica).check())).resolves.toBeUndefined();
      await expect(Promise.resolve(redisMasterReadiness(onReplica).check())).rejects.toThrow(/connected to a Redis slave, not a master/);
    } finally {
      onMaster.disconnect();
      onReplica.disconnect();
    }
  });
});
