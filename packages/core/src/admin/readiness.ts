import { Cluster } from 'ioredis';
import type { Pool } from '../mysql.js';
import type { Redis } from '../redis.js';

/**
 * One condition of /readyz. `check` resolves when ready; it throws (or
 * resolves `false`) when not, and is given up after the server's check timeout.
 */
export interface ReadinessCheck {
  /** Named in the 503 body, e.g. `mysql`, `redis`, `worker`. */
  readonly name: string;
  check(): Promise<void | boolean> | void | boolean;
}

/**
 * The MySQL host the role writes to answers and takes writes: not read-only,
 * and a synced, ready member when it is a Galera node (Pool.checkWriter).
 */
export function mysqlReadiness(pool: Pool, name = 'mysql'): ReadinessCheck {
  return {
    name,
    check: async () => {
      await pool.checkWriter();
    },
  };
}

/** Redis answers PING. */
export function redisReadiness(redis: Redis, name = 'redis'): ReadinessCheck {
  return {
    name,
    check: async () => {
      const answer = await redis.ping();
      if (answer !== 'PONG') throw new Error(`PING answered ${answer}`);
    },
  };
}

/**
 * Redis has a master to write to: the server the client is connected to
 * answers ROLE as a master (a replica answers PING too: during a Sentinel
 * failover, or a demoted master), or on a Redis Cluster every slot has one
 * (`cluster_state:ok`).
 */
export function redisMasterReadiness(redis: Redis, name = 'redis-master'): ReadinessCheck {
  return {
    name,
    check: async () => {
      if (redis instanceof Cluster) {
        const info = String(await redis.cluster('INFO'));
        if (!/cluster_state:ok/.test(info)) throw new Error('the Redis Cluster is down (a slot has no master)');
        return;
      }
      const [role] = (await redis.call('ROLE')) as [string];
      if (role !== 'master') throw new Error(`connected to a Redis ${role}, not a master`);
    },
  };
}

/** A role's own state, e.g. `() => worker.lifecycleState === 'RUNNING'`. */
export function stateReadiness(name: string, isReady: () => boolean): ReadinessCheck {
  return { name, check: () => isReady() };
}
