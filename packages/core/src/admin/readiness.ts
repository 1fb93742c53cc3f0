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

/** A role's own state, e.g. `() => worker.lifecycleState === 'RUNNING'`. */
export function stateReadiness(name: string, isReady: () => boolean): ReadinessCheck {
  return { name, check: () => isReady() };
}
