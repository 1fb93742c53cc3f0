// A scratch installation for scenarios that run real `watched` processes and
// kill them: a scratch MySQL database, a redis-server of its own (or a Redis
// the scenario runs, given as `redisUrl`: Sentinel, Cluster), and roles
// spawned from the built CLI with the fault tests' process helpers
// (packages/cli/src/e2e/processes.ts, built to dist: signals, output, waitFor).
// Everything is removed by close().
import { Queue } from 'bullmq';
import { compileRedisConnection, createRedis, POLL_QUEUE, RedisKeys } from '@watched/core';
import { waitFor } from '@watched/core/testing';
import { pidOfNodeId, spawnWatched } from '../../packages/cli/dist/e2e/processes.js';
import { scratchDatabase } from './mysql-data.mjs';
import { PrivateRedis } from './private-redis.mjs';

export { pidOfNodeId, waitFor };

export class BenchCluster {
  /** `mysqlServer`: a server URL without database (default the shared MariaDB), e.g. a Galera cluster's; `redisUrl`: a Redis of its own. */
  constructor(name, { redisUrl, mysqlServer } = {}) {
    this.name = name;
    this.mysqlServer = mysqlServer;
    this.prefix = `wbench-${name}`;
    this.externalRedisUrl = redisUrl;
    this.keys = RedisKeys.of(this.prefix, compileRedisConnection(redisUrl ?? 'redis://127.0.0.1'));
    this.processes = [];
  }

  async start() {
    this.database = await scratchDatabase(this.name, 4, this.mysqlServer);
    this.pool = this.database.pool;
    this.mysqlUrl = this.database.mysqlUrl;
    if (this.externalRedisUrl) this.redisUrl = this.externalRedisUrl;
    else {
      this.redisServer = await new PrivateRedis().start();
      this.redisUrl = this.redisServer.url;
    }
    this.redis = createRedis(this.redisUrl, { blocking: true, connectionName: 'watched-bench' });
    this.redis.on('error', () => undefined); // a failover the scenario causes: followed, not fatal
    this.queue = new Queue(POLL_QUEUE, { connection: this.redis, prefix: this.keys.bullPrefix });
    this.queue.on('error', () => undefined);
    await this.queue.waitUntilReady();
    return this;
  }

  /** Spawns `watched <args>` against this installation (`extraEnv`: more variables, e.g. NODE_OPTIONS). */
  spawn(label, args, extraEnv = {}) {
    const role = spawnWatched(label, args, { mysqlUrl: this.mysqlUrl, redisUrl: this.redisUrl, prefix: this.prefix }, extraEnv);
    this.processes.push(role);
    return role;
  }

  /** Waits until a spawned role has logged `text` (e.g. 'coordinator started'). */
  started(role, text, timeoutMs = 20_000) {
    return waitFor(`${role.label} to log "${text}"`, () => role.output.join('').includes(text), timeoutMs, 50).catch((err) => {
      throw new Error(`${err.message}\n${role.tail()}`);
    });
  }

  /** The leader lease: the holder's pid and the term, or undefined. */
  async lease() {
    const value = await this.redis.get(this.keys.leaderLease);
    if (!value) return undefined;
    return { pid: pidOfNodeId(value.replace(/:\d+$/, '')), term: Number(value.split(':').at(-1)) };
  }

  /** The newest jobs of these states (newest first), at most `count` each. */
  recentJobs(states = ['waiting', 'active', 'completed', 'delayed', 'prioritized'], count = 100) {
    return this.queue.getJobs(states, 0, count - 1, false);
  }

  async close() {
    await Promise.all(this.processes.map((p) => p.stop('SIGKILL').catch(() => undefined)));
    await this.queue?.close().catch(() => undefined);
    this.redis?.disconnect();
    await this.redisServer?.stop();
    await this.database?.drop();
  }
}
