import mysql from 'mysql2/promise';
import { compileMysqlConnection, describeMysqlTarget, type MysqlConnectionOptions } from './config/mysql-connection-options.js';

export type Pool = mysql.Pool;
export type PoolConnection = mysql.PoolConnection;
export type Connection = mysql.Connection;
export type RowDataPacket = mysql.RowDataPacket;
export type ResultSetHeader = mysql.ResultSetHeader;

export interface MysqlPoolOptions {
  /** Connections in the pool (a worker needs about its concurrency). */
  connectionLimit?: number;
  /** Allow several statements in one query (migrations only). */
  multipleStatements?: boolean;
}

/**
 * The session settings every connection needs: the web front's SQL (and
 * upstream's views) break under ONLY_FULL_GROUP_BY and ANSI_QUOTES, and all
 * epoch-ms arithmetic is done on DOUBLEs.
 */
const SESSION_SQL_MODE = "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION'";

/**
 * mysql2's own text-protocol parser for DOUBLE accumulates digits in floating
 * point and can miss the last bit (9153.300639898469 read back as
 * ...467). Number() on the server's text is correctly rounded, so every
 * epoch-ms timestamp and metric comes back exactly as written.
 */
export const exactDoubleTypeCast: mysql.TypeCast = (field, next) => {
  if (field.type === 'DOUBLE' || field.type === 'FLOAT') {
    const text = field.string();
    return text === null ? null : Number(text);
  }
  return next();
};

/** A structured target, or a URL (tests, one-shot commands) read by the same parser. */
export type MysqlTarget = MysqlConnectionOptions | string;

function compiled(target: MysqlTarget): MysqlConnectionOptions {
  return typeof target === 'string' ? compileMysqlConnection(target) : target;
}

/** mysql2's connection settings for a target (database may be absent). */
function driverOptions(target: MysqlTarget): mysql.ConnectionOptions {
  const { hosts, user, password, database, tls } = compiled(target);
  const [{ host, port }] = hosts;
  const { verify, ...material } = tls ?? { verify: true };
  return {
    host,
    port,
    user,
    password,
    database,
    // mysql2 checks the name against the host (IP SANs for an IP host) when verifyIdentity is on.
    ...(tls ? { ssl: { ...material, rejectUnauthorized: verify, verifyIdentity: verify, minVersion: 'TLSv1.2' } } : {}),
  };
}

/** The database name of a target, required by every role but migrate. */
export function mysqlDatabaseName(target: MysqlTarget): string {
  const options = compiled(target);
  if (!options.database) throw new Error(`the MySQL URL names no database: ${describeMysqlTarget(options)}`);
  return options.database;
}

/**
 * mysql2's own formatting with one shortcut: a statement passed without
 * values is sent as it is. mysql2 formats every query, with `[]` when no
 * values were given, and the formatter scans the whole text for `?` even
 * then: for the worker's multi-megabyte INSERTs (text built by the caller)
 * that scan was ~10% of its CPU. With no values the result is the same text.
 */
function formatOnlyWithValues(this: { config: { timezone?: string } }, sql: string, values: unknown): string {
  if (values === undefined || (Array.isArray(values) && values.length === 0)) return sql;
  return mysql.format(sql, values as never, false, this.config.timezone as never);
}

export function createMysqlPool(target: MysqlTarget, options: MysqlPoolOptions = {}): Pool {
  const pool = mysql.createPool({
    ...driverOptions(target),
    connectionLimit: options.connectionLimit ?? 10,
    multipleStatements: options.multipleStatements ?? false,
    supportBigNumbers: true,
    bigNumberStrings: false,
    dateStrings: true,
    typeCast: exactDoubleTypeCast,
    queryFormat: formatOnlyWithValues,
    enableKeepAlive: true,
    waitForConnections: true,
    // Bounded so a dead database surfaces as an error instead of a silent wait.
    connectTimeout: 10_000,
  });
  // mysql2 emits 'connection' on the callback pool underneath the promise wrapper.
  pool.pool.on('connection', (conn) => {
    conn.query(SESSION_SQL_MODE);
  });
  return pool;
}

/** Opens one connection (no pool), e.g. to create a database before pooling. */
export async function createMysqlConnection(target: MysqlTarget, options: MysqlPoolOptions = {}): Promise<Connection> {
  const conn = await mysql.createConnection({
    ...driverOptions(target),
    multipleStatements: options.multipleStatements ?? false,
    supportBigNumbers: true,
    dateStrings: true,
    typeCast: exactDoubleTypeCast,
    connectTimeout: 10_000,
  });
  await conn.query(SESSION_SQL_MODE);
  return conn;
}

const ER_LOCK_WAIT_TIMEOUT = 1205;
const ER_LOCK_DEADLOCK = 1213;

/** Deadlocks and lock-wait timeouts: the statement was rolled back and can simply run again. */
export function isRetryableMysqlError(err: unknown): boolean {
  const errno = (err as { errno?: number } | null)?.errno;
  return errno === ER_LOCK_DEADLOCK || errno === ER_LOCK_WAIT_TIMEOUT;
}

/**
 * Runs `work` again (with a short jittered pause) when MySQL chose it as a
 * deadlock victim or a lock wait timed out; other errors pass through.
 */
export async function retryOnDeadlock<T>(work: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= attempts || !isRetryableMysqlError(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 10 * attempt + Math.random() * 40 * attempt));
    }
  }
}

/**
 * Runs `work` in a transaction on a pooled connection, rolling back on error
 * and running the whole transaction again if it was a deadlock victim.
 */
export async function withTransaction<T>(
  pool: Pool,
  work: (conn: PoolConnection) => Promise<T>,
  options: { isolation?: 'READ COMMITTED' | 'REPEATABLE READ' } = {},
): Promise<T> {
  return retryOnDeadlock(async () => {
    const conn = await pool.getConnection();
    try {
      // Applies to the next transaction only, so the pooled connection keeps its default.
      if (options.isolation) await conn.query(`SET TRANSACTION ISOLATION LEVEL ${options.isolation}`);
      await conn.beginTransaction();
      const result = await work(conn);
      await conn.commit();
      return result;
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  });
}

/**
 * Runs `work` on one pooled connection holding the MySQL named lock of a
 * table's schema (`watched_ddl_<table>`): the worker (d$ tables) and the
 * aggregator (rollup tables, d$ indexes) take the same lock, so their DDL on
 * one table never interleaves, across processes too. `work` should re-read
 * the catalogue inside the lock before changing anything.
 */
export async function withSchemaLock<T>(pool: Pool, table: string, work: (conn: PoolConnection) => Promise<T>, timeoutSeconds = 60): Promise<T> {
  const conn = await pool.getConnection();
  const lock = `watched_ddl_${table}`.slice(0, 64);
  try {
    const [[got]] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS got', [lock, timeoutSeconds]);
    if (got.got !== 1) throw new Error(`timed out waiting for the schema lock of ${table}`);
    try {
      return await work(conn);
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [lock]);
    }
  } finally {
    conn.release();
  }
}
