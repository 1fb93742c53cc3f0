import type { RoleConnections } from './config/connection-options.js';
import { describeMysqlTarget } from './config/mysql-connection-options.js';
import { describeError, errorRecord, isConnectionError } from './error-record.js';
import type { Logger } from './logger.js';
import type { Pool } from './mysql.js';
import type { DependencyOutages, OutageTracker } from './outage-tracker.js';
import { describeRedisTarget } from './config/redis-connection-options.js';

/** The outage member standing for the process's MySQL pools: failing until a pool connects again. */
const MYSQL_POOLS = 'mysql-pools';

/** mysql2 marks its errors (`fatal`, `sqlState`, `ER_`/`PROTOCOL_` codes); the rest of the connection errors we see are ioredis'. */
export function isMysqlError(err: unknown): boolean {
  const e = err as { fatal?: unknown; sqlState?: unknown; code?: unknown; message?: unknown };
  if (e.fatal !== undefined || typeof e.sqlState === 'string') return true;
  if (typeof e.code === 'string' && /^(ER_|PROTOCOL_)/.test(e.code)) return true;
  return typeof e.message === 'string' && /Pool is closed|connection is in closed state/.test(e.message);
}

/**
 * How a role says that something it did failed: a failure caused by a
 * dependency that cannot be reached is part of that dependency's outage
 * (its tracker says it once, then sums it up), any other failure is one
 * line with the error's safe record. Without this, every periodic task,
 * heartbeat and job of a role logs its own line for the same dead Redis.
 */
export class FailureReporter {
  constructor(
    private readonly logger: Logger,
    private readonly outages: DependencyOutages,
    private readonly connections: Pick<RoleConnections, 'mysql' | 'redis'>,
  ) {}

  private get mysqlTracker(): OutageTracker {
    return this.outages.tracker('MySQL', describeMysqlTarget(this.connections.mysql));
  }

  private get redisTracker(): OutageTracker {
    return this.outages.tracker('Redis', describeRedisTarget(this.connections.redis));
  }

  /** `what failed: <error>` at `level`, unless the error belongs to an outage. */
  report(what: string, err: unknown, level: 'warn' | 'error' = 'warn'): void {
    if (isConnectionError(err)) {
      if (isMysqlError(err)) {
        this.mysqlTracker.failure(MYSQL_POOLS, err);
        return;
      }
      // Redis' clients report their own connection state: a failed command only counts into an outage they opened.
      const redis = this.redisTracker;
      if (redis.down) {
        redis.failure('commands', err);
        redis.forget('commands');
        return;
      }
    }
    this.logger[level](`${what} failed: ${describeError(err)}`, { error: errorRecord(err) });
  }

  /** A MySQL pool whose new connections end the MySQL outage (a pool connects again only once the server answers). */
  watchPool(pool: Pool): Pool {
    pool.onConnection(() => this.mysqlTracker.recovered(MYSQL_POOLS));
    return pool;
  }
}
