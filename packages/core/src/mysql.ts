import mysql from 'mysql2/promise';
import { ConfigError } from './errors.js';
import { redactUrl } from './log-redaction.js';
import { readTlsFiles } from './tls.js';

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

/**
 * TLS settings carried by the URL's query, so every consumer of the one URL
 * (pools, the migrator, child processes given WATCHED_MYSQL_URL) gets them:
 * `ssl=true` (TLS with the system CAs), `ssl-ca=FILE`, `ssl-cert=FILE`,
 * `ssl-key=FILE` (client certificate), `ssl-verify=false` (encrypt without
 * checking the server's certificate and name; default true). The
 * `--mysql-ssl-*` options are written into these parameters at start-up.
 */
export const MYSQL_TLS_PARAMS = { enable: 'ssl', ca: 'ssl-ca', cert: 'ssl-cert', key: 'ssl-key', verify: 'ssl-verify' } as const;

function flagParam(params: URLSearchParams, name: string): boolean | undefined {
  const value = params.get(name);
  if (value === null) return undefined;
  if (/^(1|true|yes|required)$/i.test(value)) return true;
  if (/^(0|false|no)$/i.test(value)) return false;
  throw new ConfigError('mysqlUrl', `URL parameter ${name} must be true or false`);
}

function mysqlTls(params: URLSearchParams): mysql.SslOptions | undefined {
  const p = MYSQL_TLS_PARAMS;
  const files = { ca: params.get(p.ca) ?? undefined, cert: params.get(p.cert) ?? undefined, key: params.get(p.key) ?? undefined };
  const enabled = flagParam(params, p.enable) ?? Boolean(files.ca || files.cert);
  if (!enabled) return undefined;
  const verify = flagParam(params, p.verify) ?? true;
  const material = readTlsFiles(files, { ca: `mysqlUrl ${p.ca}`, cert: `mysqlUrl ${p.cert}`, key: `mysqlUrl ${p.key}` });
  // mysql2 checks the name against the URL's host (IP SANs for an IP host) when verifyIdentity is on.
  return { ...stripUndefined(material), rejectUnauthorized: verify, verifyIdentity: verify, minVersion: 'TLSv1.2' };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Splits a mysql:// URL into connection settings (database may be absent), TLS files read. */
export function parseMysqlUrl(url: string): mysql.ConnectionOptions & { database?: string } {
  const u = new URL(url);
  if (u.protocol !== 'mysql:') throw new Error(`not a mysql:// URL: ${u.protocol}`);
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || undefined;
  const ssl = mysqlTls(u.searchParams);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password || ''),
    database,
    ...(ssl ? { ssl } : {}),
  };
}

/** The database name of a URL, required by every role but migrate. */
export function mysqlDatabaseName(url: string): string {
  const { database } = parseMysqlUrl(url);
  if (!database) throw new Error(`the MySQL URL names no database: ${redactUrl(url)}`);
  return database;
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

export function createMysqlPool(url: string, options: MysqlPoolOptions = {}): Pool {
  const pool = mysql.createPool({
    ...parseMysqlUrl(url),
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
