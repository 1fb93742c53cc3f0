import mysql from 'mysql2/promise';

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

/** Splits a mysql:// URL into connection settings (database may be absent). */
export function parseMysqlUrl(url: string): mysql.ConnectionOptions & { database?: string } {
  const u = new URL(url);
  if (u.protocol !== 'mysql:') throw new Error(`not a mysql:// URL: ${u.protocol}`);
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || undefined;
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password || ''),
    database,
  };
}

/** The database name of a URL, required by every role but migrate. */
export function mysqlDatabaseName(url: string): string {
  const { database } = parseMysqlUrl(url);
  if (!database) throw new Error(`the MySQL URL names no database: ${redactUrl(url)}`);
  return database;
}

/** The URL with its password hidden, for logs and status output. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}

export function createMysqlPool(url: string, options: MysqlPoolOptions = {}): Pool {
  const pool = mysql.createPool({
    ...parseMysqlUrl(url),
    connectionLimit: options.connectionLimit ?? 10,
    multipleStatements: options.multipleStatements ?? false,
    supportBigNumbers: true,
    bigNumberStrings: false,
    dateStrings: true,
    typeCast: exactDoubleTypeCast,
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
export async function createMysqlConnection(url: string, options: MysqlPoolOptions = {}): Promise<Connection> {
  const conn = await mysql.createConnection({
    ...parseMysqlUrl(url),
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
