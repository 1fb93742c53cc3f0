import { randomBytes } from 'node:crypto';
import { compileConnectionOptions, type RoleConnections } from '../config/connection-options.js';
import { RedisKeys } from '../keys.js';
import { createLogger, type Logger } from '../logger.js';
import { createMysqlConnection, createMysqlPool, type Pool } from '../mysql.js';
import { createRedis, type Redis } from '../redis.js';
import { Migrator } from '../schema/migrator.js';
import { RoleContext, type RoleContextOptions } from '../role/role-context.js';

/**
 * Each test file gets its own database and Redis key prefix on the real
 * servers, removed afterwards, so files can run in parallel.
 */
export interface TestEnvironment {
  database: string;
  mysqlUrl: string;
  redisUrl: string;
  prefix: string;
  /** The Redis keys of `prefix` (roles build theirs the same way). */
  keys: RedisKeys;
  /** The same database, Redis and prefix as roles receive them. */
  connections: RoleConnections;
  pool: Pool;
  redis: Redis;
  logger: Logger;
  /** A role's context on this environment (its connections and logger). */
  roleContext(role: string, options?: Pick<RoleContextOptions, 'nodeId' | 'metrics'>): RoleContext;
  /** Drops the database and every Redis key under the prefix, closes connections. */
  cleanup(): Promise<void>;
}

export interface TestEnvironmentOptions {
  /** Apply migrations/ (default true). */
  migrate?: boolean;
  /** The server URL without a database (default: the shared MariaDB, or WATCHED_TEST_MYSQL_SERVER), e.g. a private Galera cluster's multi-host URL. */
  mysqlServer?: string;
}

const SERVER_URL = process.env.WATCHED_TEST_MYSQL_SERVER ?? 'mysql://root@127.0.0.1:3306';
const REDIS_URL = process.env.WATCHED_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export async function createTestEnvironment(
  name: string,
  options: TestEnvironmentOptions = {},
): Promise<TestEnvironment> {
  const suffix = randomBytes(4).toString('hex');
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 30);
  const database = `wt_${slug}_${suffix}`;
  const prefix = `wt-${slug}-${suffix}`;
  const server = options.mysqlServer ?? SERVER_URL;
  const mysqlUrl = `${server.replace(/\/$/, '')}/${database}`;
  const logger = createLogger({ level: process.env.WATCHED_TEST_LOG ? 'debug' : 'error', silent: !process.env.WATCHED_TEST_LOG });

  if (options.migrate ?? true) {
    await new Migrator({ mysql: mysqlUrl }).migrate();
  } else {
    const conn = await createMysqlConnection(server);
    await conn.query(`CREATE DATABASE \`${database}\``);
    await conn.end();
  }
  const pool = createMysqlPool(mysqlUrl, { connectionLimit: 8 });
  const redis = createRedis(REDIS_URL);
  const connections = compileConnectionOptions({ mysqlUrl, redisUrl: REDIS_URL, prefix });

  return {
    database,
    mysqlUrl,
    redisUrl: REDIS_URL,
    prefix,
    keys: RedisKeys.of(prefix, connections.redis),
    connections,
    pool,
    redis,
    logger,
    roleContext(role, options = {}) {
      return new RoleContext({ role, connections, logger, ...options });
    },
    async cleanup() {
      await pool.end().catch(() => undefined);
      const conn = await createMysqlConnection(server);
      await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await conn.end();
      await deleteKeys(redis, `${prefix}:*`);
      await redis.quit();
    },
  };
}

/** Deletes every key matching a pattern with SCAN (never KEYS on a shared server). */
export async function deleteKeys(redis: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    if (keys.length) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}
