import { createHash } from 'node:crypto';
import mysql from 'mysql2/promise';
import type { HostPort } from './config/connection-url.js';
import { compileMysqlConnection, describeMysqlTarget, withDatabase, type MysqlConnectionOptions } from './config/mysql-connection-options.js';
import { errorMessage } from './errors.js';
import type { Logger } from './logger.js';
import { MysqlWriterSelector, WRITER_STATE_SQL, writerVerdict, type MysqlWriterStatus, type WriterVerdict } from './mysql-writer.js';

export type PoolConnection = mysql.PoolConnection;
export type Connection = mysql.Connection;
export type RowDataPacket = mysql.RowDataPacket;
export type ResultSetHeader = mysql.ResultSetHeader;

export interface MysqlPoolOptions {
  /** Connections in the pool (a worker needs about its concurrency). */
  connectionLimit?: number;
  /** Allow several statements in one query (migrations only). */
  multipleStatements?: boolean;
  /**
   * The writer choice to follow (RoleContext shares one between the pools of
   * a role, so they all write to the same host); default: the pool's own.
   */
  selector?: MysqlWriterSelector;
  /** Where failovers are logged (with a pool's own selector). */
  logger?: Logger;
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

/** mysql2's connection settings for one host of a target (database may be absent). */
function driverOptions(target: MysqlConnectionOptions, { host, port }: HostPort): mysql.ConnectionOptions {
  const { user, password, database, tls } = target;
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

/**
 * The pool every MySQL user opens (roles, commands, tests, bench): the
 * mysql2 calls the code uses, served by the host the writer selector chose
 * (one host: that host, as a plain pool).
 */
export interface Pool {
  query: mysql.Pool['query'];
  getConnection(): Promise<PoolConnection>;
  end(): Promise<void>;
  /** Tells the writer selector that work on `conn` failed with `err` (a transaction's rollback path). */
  noteFailure(conn: PoolConnection, err: unknown): void;
  /** Throws, saying why, unless the host written to takes writes now (readiness); resolves its name. */
  checkWriter(): Promise<string>;
  /** Which host is written to and the failovers seen (membership, `watched status`). */
  writerStatus(): MysqlWriterStatus;
  /** How long a transaction refused or cut by its host is tried again (on the next writer, or through the proxy). */
  readonly writerWaitMs: number;
  /** Calls `listener` for every new server connection, on any host (a pool connects only once its server answers). */
  onConnection(listener: () => void): void;
}

/** How long a probe may take: a host that does not answer within it is passed over. */
const PROBE_TIMEOUT_MS = 3_000;

/** Reads whether the server behind `conn` takes writes (see writerVerdict). */
export async function readWriterVerdict(conn: { query: Connection['query'] }): Promise<WriterVerdict> {
  type Row = RowDataPacket & { Variable_name: string; Value: string };
  const [variables] = await conn.query<Row[]>({ sql: WRITER_STATE_SQL[0], timeout: PROBE_TIMEOUT_MS });
  const [status] = await conn.query<Row[]>({ sql: WRITER_STATE_SQL[1], timeout: PROBE_TIMEOUT_MS });
  return writerVerdict(variables, status);
}

/** One connection to `host` (no database: it may not exist yet), asked whether it takes writes. */
function hostProbe(target: MysqlConnectionOptions): (host: HostPort) => Promise<WriterVerdict> {
  const server = withDatabase(target, undefined);
  return async (host) => {
    const conn = await mysql.createConnection({ ...driverOptions(server, host), connectTimeout: PROBE_TIMEOUT_MS });
    conn.on('error', () => undefined);
    try {
      return await readWriterVerdict(conn);
    } finally {
      conn.destroy();
    }
  };
}

/**
 * The writer choice over a target's hosts (see MysqlWriterSelector); RoleContext shares one between its pools.
 * `selectTimeoutMs`: how long a caller waits for a writable host (default 30 s; 0: one walk of the list).
 */
export function createWriterSelector(target: MysqlTarget, logger?: Logger, selectTimeoutMs?: number): MysqlWriterSelector {
  const options = compiled(target);
  const { failbackAfterMs } = options;
  return new MysqlWriterSelector({
    hosts: options.hosts, probe: hostProbe(options), logger, settleMs: failbackAfterMs === undefined ? undefined : failbackAfterMs, selectTimeoutMs,
  });
}

function openDriverPool(target: MysqlConnectionOptions, host: HostPort, options: MysqlPoolOptions): mysql.Pool {
  const pool = mysql.createPool({
    ...driverOptions(target, host),
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

/**
 * A pool that follows the writer: one mysql2 pool per host, opened when the
 * host is first written to; each connection handed out comes from the
 * writer's pool at that moment, so a transaction (one connection) stays on
 * one host while later ones follow a failover.
 */
class WriterPool implements Pool {
  private readonly pools = new Map<number, mysql.Pool>();
  private readonly hostOf = new WeakMap<PoolConnection, number>();
  private readonly connectionListeners: Array<() => void> = [];
  private readonly selector: MysqlWriterSelector;
  private readonly ownSelector: boolean;
  private ending?: Promise<void>;
  readonly writerWaitMs: number;

  constructor(
    private readonly target: MysqlConnectionOptions,
    private readonly options: MysqlPoolOptions,
  ) {
    this.ownSelector = !options.selector;
    this.selector = options.selector ?? createWriterSelector(target, options.logger);
    this.writerWaitMs = this.selector.multiHost ? WRITER_WAIT_MS : PROXY_WAIT_MS;
  }

  async getConnection(): Promise<PoolConnection> {
    const deadline = Date.now() + WRITER_WAIT_MS;
    for (;;) {
      const index = await this.selector.writer();
      try {
        const conn = await this.poolOf(index).getConnection();
        this.hostOf.set(conn, index);
        return conn;
      } catch (err) {
        if (!this.selector.multiHost || !mysqlFailureKind(err) || Date.now() > deadline) throw err;
        this.selector.demote(index, errorMessage(err));
      }
    }
  }

  /**
   * One statement on a connection of its own; a conflicting statement runs
   * again, and, with several hosts, one refused by a host that is no writer
   * (nothing was done) runs again on the next. With one host a refused
   * statement fails at once, as without failover (`watched status` says
   * MySQL is down instead of waiting).
   */
  query = ((...args: unknown[]) =>
    retryOnDeadlock(async () => {
      const conn = await this.getConnection();
      try {
        return await (conn.query as (...a: unknown[]) => Promise<unknown>)(...args);
      } catch (err) {
        this.noteFailure(conn, err);
        throw err;
      } finally {
        conn.release();
      }
    }, { waitMs: this.selector.multiHost ? WRITER_WAIT_MS : 0 })) as Pool['query'];

  noteFailure(conn: PoolConnection, err: unknown): void {
    const index = this.hostOf.get(conn);
    const kind = mysqlFailureKind(err);
    if (index !== undefined && (kind === 'refused' || kind === 'lost')) this.selector.demote(index, errorMessage(err));
  }

  async checkWriter(): Promise<string> {
    const conn = await this.getConnection();
    try {
      const index = this.hostOf.get(conn) ?? 0;
      const name = this.selector.names[index];
      const verdict = await readWriterVerdict(conn);
      if (!verdict.writable) {
        this.selector.demote(index, verdict.reason);
        throw new Error(`MySQL host ${name} takes no writes: ${verdict.reason}`);
      }
      return name;
    } finally {
      conn.release();
    }
  }

  writerStatus(): MysqlWriterStatus {
    return this.selector.status();
  }

  onConnection(listener: () => void): void {
    this.connectionListeners.push(listener);
  }

  end(): Promise<void> {
    this.ending ??= (async () => {
      if (this.ownSelector) this.selector.close();
      await Promise.all([...this.pools.values()].map((pool) => pool.end()));
    })();
    return this.ending;
  }

  private poolOf(index: number): mysql.Pool {
    if (this.ending) throw new Error('the MySQL pool is closed');
    let pool = this.pools.get(index);
    if (!pool) {
      pool = openDriverPool(this.target, this.target.hosts[index], this.options);
      pool.on('connection', () => {
        for (const listener of this.connectionListeners) listener();
      });
      this.pools.set(index, pool);
    }
    return pool;
  }
}

export function createMysqlPool(target: MysqlTarget, options: MysqlPoolOptions = {}): Pool {
  return new WriterPool(compiled(target), options);
}

/** Opens one connection (no pool) to the writer, e.g. to create a database before pooling, or to migrate. */
export async function createMysqlConnection(target: MysqlTarget, options: MysqlPoolOptions = {}): Promise<Connection> {
  const compiledTarget = compiled(target);
  // A connection of its own (a probe, a migration) walks the host list once: with every host down, the
  // command says so now instead of waiting out a failover that a long-running role would wait for.
  const selector = options.selector ?? createWriterSelector(compiledTarget, options.logger, 0);
  let index: number;
  try {
    index = await selector.writer();
  } finally {
    if (!options.selector) selector.close();
  }
  const conn = await mysql.createConnection({
    ...driverOptions(compiledTarget, compiledTarget.hosts[index]),
    multipleStatements: options.multipleStatements ?? false,
    supportBigNumbers: true,
    dateStrings: true,
    typeCast: exactDoubleTypeCast,
    connectTimeout: 10_000,
  });
  await conn.query(SESSION_SQL_MODE);
  return conn;
}

/** How long work waits for a writer after a failover before it fails. */
const WRITER_WAIT_MS = 30_000;
/**
 * The same with one host: a proxy switching to a backup (haproxy: ~3 s with
 * Galera's fast eviction) is bridged, an outage is not hidden (the job fails
 * and retries with backoff, as before failover existed).
 */
const PROXY_WAIT_MS = 5_000;

/**
 * How a MySQL error may be retried:
 * - `conflict`: the statement or transaction was rolled back (deadlock,
 *   Galera certification conflict 1213, lock wait timeout, Galera refusing
 *   a COMMIT): run it again.
 * - `refused`: the host takes no writes now (read-only 1290/1836, WSREP not
 *   ready 1047, shutting down): nothing was done; run it again on the writer
 *   chosen next.
 * - `lost`: the connection broke in the middle: what was not committed is
 *   rolled back, a COMMIT in flight may or may not have landed. Retried
 *   only for transactions, which are upserts on natural keys (design.md).
 */
export type MysqlFailureKind = 'conflict' | 'refused' | 'lost';

const CONFLICT_ERRNOS = new Set([1205 /* ER_LOCK_WAIT_TIMEOUT */, 1213 /* ER_LOCK_DEADLOCK, also Galera certification */, 1180 /* ER_ERROR_DURING_COMMIT */]);
const REFUSED_ERRNOS = new Set([
  1047 /* ER_UNKNOWN_COM_ERROR: WSREP has not yet prepared node for application use */,
  1053 /* ER_SERVER_SHUTDOWN */,
  1290 /* ER_OPTION_PREVENTS_STATEMENT: --read-only */,
  1836 /* ER_READ_ONLY_MODE */,
  1927 /* ER_CONNECTION_KILLED */,
]);
const REFUSED_CODES = /^(ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ER_CON_COUNT_ERROR)$/;
const LOST_CODES = /^(PROTOCOL_CONNECTION_LOST|PROTOCOL_SEQUENCE_TIMEOUT|ECONNRESET|ETIMEDOUT|EPIPE)$/;

export function mysqlFailureKind(err: unknown): MysqlFailureKind | undefined {
  const e = err as { errno?: number; code?: string; fatal?: boolean } | null;
  if (!e) return undefined;
  if (e.errno !== undefined && CONFLICT_ERRNOS.has(e.errno)) return 'conflict';
  if ((e.errno !== undefined && REFUSED_ERRNOS.has(e.errno)) || (typeof e.code === 'string' && REFUSED_CODES.test(e.code))) return 'refused';
  if ((typeof e.code === 'string' && LOST_CODES.test(e.code)) || e.fatal === true) return 'lost';
  return undefined;
}

/** Whether running the work again may succeed (any MysqlFailureKind). */
export function isRetryableMysqlError(err: unknown): boolean {
  return mysqlFailureKind(err) !== undefined;
}

export interface RetryOptions {
  /** Attempts for conflicts (default 8). */
  attempts?: number;
  /** Also retry a broken connection (transactions of upserts; default false). */
  retryLost?: boolean;
  /**
   * How long refused (and, with retryLost, lost) work is tried again; 0 (the
   * default): only conflicts are retried, e.g. for work bound to one connection.
   */
  waitMs?: number;
}

/**
 * The one retry of MySQL work, used by every transaction (withTransaction)
 * and every pooled statement: conflicts (deadlocks, Galera certification)
 * run again after a short jittered pause, a bounded number of times; work
 * refused by a host that is no writer (or lost with it, for transactions)
 * runs again on the next writer for up to `waitMs` (withTransaction: the
 * pool's writerWaitMs). Other errors pass through.
 */
export async function retryOnDeadlock<T>(work: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 8;
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      const kind = mysqlFailureKind(err);
      if (kind === 'conflict') {
        if (attempt >= attempts) throw err;
        await sleep(10 * attempt + Math.random() * 40 * attempt);
      } else if (kind === 'refused' || (kind === 'lost' && options.retryLost)) {
        if (Date.now() >= deadline) throw err;
        await sleep(Math.min(1000, 100 * attempt));
      } else {
        throw err;
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `work` in a transaction on `conn`, rolling back on error and running
 * it again when it was a deadlock or Galera certification victim (the one
 * transaction boundary of every transaction: withTransaction, migrations,
 * front users). On one connection only conflicts are retried: a host that
 * stopped being the writer is the caller's to leave.
 */
export async function inTransaction<T>(conn: Connection | PoolConnection, work: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  return retryOnDeadlock(async () => {
    await conn.beginTransaction();
    try {
      const result = await work();
      await conn.commit();
      return result;
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    }
  }, options);
}

/**
 * Runs `work` in a transaction on a pooled connection of the writer, and
 * runs the whole transaction again on a fresh connection when it was a
 * deadlock or Galera certification victim, or its host stopped being the
 * writer (see retryOnDeadlock): `work` must be safe to run again, as every
 * write here is an upsert on a natural key (design.md).
 */
export async function withTransaction<T>(
  pool: Pool,
  work: (conn: PoolConnection) => Promise<T>,
  options: { isolation?: 'READ COMMITTED' | 'REPEATABLE READ' } = {},
): Promise<T> {
  return retryOnDeadlock(
    async () => {
      const conn = await pool.getConnection();
      try {
        // Applies to the next transaction only, so the pooled connection keeps its default.
        if (options.isolation) await conn.query(`SET TRANSACTION ISOLATION LEVEL ${options.isolation}`);
        // One attempt here: the retry above takes a fresh connection, possibly on the next writer.
        return await inTransaction(conn, () => work(conn), { attempts: 1 });
      } catch (err) {
        pool.noteFailure(conn, err);
        throw err;
      } finally {
        conn.release();
      }
    },
    { retryLost: true, waitMs: pool.writerWaitMs },
  );
}

/**
 * The named lock of `table`'s schema in `database`. Named locks are
 * server-wide: without the database, installations (or test databases)
 * sharing a server waited for each other's DDL on equally named tables, up
 * to the lock's timeout. Past MySQL's 64 characters, a digest of the name.
 */
export function schemaLockName(database: string, table: string): string {
  const name = `watched_ddl_${database}.${table}`;
  return name.length <= 64 ? name : `watched_ddl_${createHash('sha1').update(`${database}.${table}`).digest('hex')}`;
}

/**
 * Runs `work` on one pooled connection holding the MySQL named lock of a
 * table's schema (schemaLockName: `watched_ddl_<database>.<table>`): the
 * worker (d$ tables) and the aggregator (rollup tables, d$ indexes) take the
 * same lock, so their DDL on one table never interleaves, across processes
 * too. `work` should re-read the catalogue inside the lock before changing
 * anything.
 */
export async function withSchemaLock<T>(pool: Pool, table: string, work: (conn: PoolConnection) => Promise<T>, timeoutSeconds = 60): Promise<T> {
  const conn = await pool.getConnection();
  try {
    const [[current]] = await conn.query<RowDataPacket[]>('SELECT DATABASE() AS db');
    const lock = schemaLockName(String(current.db ?? ''), table);
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
