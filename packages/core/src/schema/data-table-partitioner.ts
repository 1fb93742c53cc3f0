import type { Logger } from '../logger.js';
import { withSchemaLock, type Connection, type Pool, type PoolConnection, type RowDataPacket } from '../mysql.js';
import { quoteIdentifier } from '../identifiers.js';
import { DEFAULT_PARTITION_SPAN_MS, DEFAULT_PARTITIONS_AHEAD, initialPartitionClause, readPartitionedTables, readTimePartitions } from './partitioning.js';

type Queryable = Pool | PoolConnection | Connection;

export interface PartitionerOptions {
  /** Span of the partitions created (default 1 day; the aggregator continues with its own span). */
  spanMs?: number;
  ahead?: number;
  /** The clock placing the partitions (tests move it). */
  now?: () => number;
  logger?: Logger;
}

/** One table to convert, with InnoDB's row estimate (for progress). */
export interface PendingTable {
  table: string;
  estimatedRows: number;
}

export interface ConvertedTable {
  table: string;
  rows: number;
  ms: number;
  /** False when the table was already partitioned (another run got there first). */
  converted: boolean;
}

/**
 * Converts existing `d$` tables into time-partitioned ones: drops their
 * foreign keys (partitioned InnoDB tables cannot have any; the aggregator's
 * orphan sweep takes the cascade's place), then one
 * `ALTER TABLE ... LOCK=SHARED PARTITION BY RANGE (timestamp DIV 1000)`
 * per table, with partitions from the oldest row to a few ahead. Each
 * ALTER is atomic (MariaDB's crash-safe DDL): a run killed at any point
 * leaves every table either converted or as it was, and the next run
 * converts the ones left (the catalogue is the progress record). During a
 * table's copy the front reads it; writes to that table wait for the end.
 */
export class DataTablePartitioner {
  private readonly spanMs: number;
  private readonly ahead: number;
  private readonly now: () => number;

  constructor(private readonly options: PartitionerOptions = {}) {
    this.spanMs = options.spanMs ?? DEFAULT_PARTITION_SPAN_MS;
    this.ahead = options.ahead ?? DEFAULT_PARTITIONS_AHEAD;
    this.now = options.now ?? Date.now;
  }

  /** The `d$` tables not partitioned yet, in name order. */
  async pending(conn: Queryable): Promise<PendingTable[]> {
    const partitioned = await readPartitionedTables(conn);
    const [rows] = await conn.query<RowDataPacket[]>(
      `SELECT TABLE_NAME AS t, TABLE_ROWS AS n FROM information_schema.TABLES
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' AND TABLE_NAME LIKE 'd$%' ORDER BY TABLE_NAME`,
    );
    return rows.filter((r) => !partitioned.has(String(r.t))).map((r) => ({ table: String(r.t), estimatedRows: Number(r.n ?? 0) }));
  }

  /**
   * Converts one table holding its schema lock (the worker's and the
   * aggregator's DDL on it wait; so does a second run, until a killed run's
   * ALTER, which the server finishes, is done). `onProgress` gets the
   * server's own progress of the copy (0..1, MariaDB's PROCESSLIST.PROGRESS),
   * read every `progressIntervalMs` on another connection of `pool`.
   */
  convertLocked(pool: Pool, table: string, onProgress?: (fraction: number) => void, progressIntervalMs = 1000): Promise<ConvertedTable> {
    return withSchemaLock(
      pool,
      table,
      async (conn) => {
        const [[{ id }]] = await conn.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
        const timer = onProgress && setInterval(() => void this.readProgress(pool, Number(id)).then((f) => f !== undefined && onProgress(f), () => undefined), progressIntervalMs);
        try {
          return await this.convert(conn, table);
        } finally {
          if (timer) clearInterval(timer);
        }
      },
      24 * 3600,
    );
  }

  private async readProgress(pool: Pool, connectionId: number): Promise<number | undefined> {
    const [rows] = await pool.query<RowDataPacket[]>('SELECT PROGRESS AS p FROM information_schema.PROCESSLIST WHERE ID = ? AND COMMAND = \'Query\'', [connectionId]);
    return rows.length ? Number(rows[0].p) / 100 : undefined;
  }

  /** Converts one table on `conn` (the caller serialises DDL on it); re-checks first, so a second run is a no-op. */
  async convert(conn: Queryable, table: string): Promise<ConvertedTable> {
    const started = performance.now();
    if (await readTimePartitions(conn, table)) return { table, rows: 0, ms: 0, converted: false };
    await this.dropForeignKeys(conn, table);
    const [[{ n }]] = await conn.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${quoteIdentifier(table)}`);
    this.options.logger?.info(`partitioning ${table} (${Number(n).toLocaleString('en-US')} rows)`);
    await conn.query(`ALTER TABLE ${quoteIdentifier(table)} LOCK=SHARED ${await this.partitionClause(conn, table)}`);
    const ms = performance.now() - started;
    this.options.logger?.info(`partitioned ${table} in ${(ms / 1000).toFixed(1)} s`);
    return { table, rows: Number(n), ms, converted: true };
  }

  /** The partition clause for `table`'s current rows (from its oldest row's partition to a few ahead of now). */
  async partitionClause(conn: Queryable, table: string): Promise<string> {
    const [[{ oldest }]] = await conn.query<RowDataPacket[]>(`SELECT MIN(\`timestamp\`) AS oldest FROM ${quoteIdentifier(table)}`);
    return initialPartitionClause(this.now(), this.spanMs, this.ahead, oldest === null ? undefined : Number(oldest));
  }

  /**
   * A foreign key and PARTITION BY cannot go in one ALTER (MariaDB refuses
   * it), so the keys go first: a metadata-only change, immediate.
   */
  async dropForeignKeys(conn: Queryable, table: string): Promise<string[]> {
    const [rows] = await conn.query<RowDataPacket[]>(
      'SELECT CONSTRAINT_NAME AS c FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ?',
      [table],
    );
    const names = rows.map((r) => String(r.c));
    if (names.length) {
      await conn.query(`ALTER TABLE ${quoteIdentifier(table)} ${names.map((c) => `DROP FOREIGN KEY ${quoteIdentifier(c)}`).join(', ')}`);
    }
    return names;
  }
}
