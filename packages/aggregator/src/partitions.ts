import {
  errorMessage,
  FUTURE_PARTITION,
  futurePartitionDefinition,
  partitionDefinition,
  partitionName,
  partitionStart,
  quoteIdentifier,
  readPartitionCatalog,
  withSchemaLock,
  type Logger,
  type Pool,
  type RowDataPacket,
  type TimePartition,
} from '@watched/core';

export interface PartitionSettings {
  /** Span of the partitions the aggregator creates (ms, a whole number of minutes). */
  spanMs: number;
  /** Partitions kept ready past the current one. */
  ahead: number;
}

/** What one drop of old partitions did (the bench and the logs report it). */
export interface PartitionDrop {
  table: string;
  partitions: string[];
  /** Rows in the dropped partitions, counted just before (not part of the drop's time). */
  rows: number;
  /** Time of the ALTER TABLE ... DROP PARTITION alone. */
  ms: number;
}

/**
 * Keeps the time partitions of the `d$` tables: `ahead` partitions ready
 * past the current one (split off the catch-all `pfuture`, which holds the
 * rows of a clock-skewed agent until their partition exists, so no row is
 * refused), and whole partitions dropped once they end at or before the
 * retention cutoff. Each change holds the table's schema lock (the worker
 * adds metric columns under it) and re-reads the catalogue inside it.
 */
export class DataPartitions {
  droppedRows = 0;
  droppedPartitions = 0;
  addedPartitions = 0;
  readonly drops: PartitionDrop[] = [];
  private catalog = new Map<string, TimePartition[]>();

  constructor(
    private readonly pool: Pool,
    private readonly settings: PartitionSettings,
    private readonly logger: Logger,
  ) {}

  /** Re-reads the partitions of every table (once per pass). */
  async refresh(): Promise<void> {
    this.catalog = await readPartitionCatalog(this.pool);
  }

  /** Whether `table` is partitioned by time (as of the last refresh). */
  isPartitioned(table: string): boolean {
    return this.catalog.has(table);
  }

  /** Adds partitions until `ahead` of them follow the one holding `now`; returns how many were added. */
  async ensureAhead(table: string, now: number): Promise<number> {
    const { spanMs, ahead } = this.settings;
    const wanted = partitionStart(now, spanMs) + (ahead + 1) * spanMs;
    if (this.lastBound(this.catalog.get(table)) >= wanted) return 0;
    return withSchemaLock(this.pool, table, async (conn) => {
      const parts = (await readPartitionCatalog(conn, table)).get(table);
      if (!parts) return 0;
      const definitions: string[] = [];
      const names: string[] = [];
      for (let start = this.lastBound(parts); start < wanted; ) {
        const end = Math.min(partitionStart(start, spanMs) + spanMs, wanted);
        definitions.push(partitionDefinition(start, end));
        names.push(partitionName(start));
        start = end;
      }
      if (definitions.length === 0) return 0;
      const t = quoteIdentifier(table);
      // pfuture's rows that fall into the new partitions move there: a copy of those rows only (usually none).
      if (parts.at(-1)!.name === FUTURE_PARTITION) {
        await conn.query(`ALTER TABLE ${t} REORGANIZE PARTITION ${quoteIdentifier(FUTURE_PARTITION)} INTO (${[...definitions, futurePartitionDefinition()].join(', ')})`);
      } else {
        await conn.query(`ALTER TABLE ${t} ADD PARTITION (${definitions.join(', ')})`);
      }
      this.addedPartitions += definitions.length;
      this.logger.info(`${table}: created partitions ${names.join(', ')}`);
      this.catalog.set(table, (await readPartitionCatalog(conn, table)).get(table) ?? parts);
      return definitions.length;
    });
  }

  /**
   * Drops the partitions that end at or before `cutoff` (never `pfuture`,
   * never the last time partition: MariaDB keeps at least one). Rows of a
   * partition that straddles the cutoff stay until it is wholly past it:
   * raw data is kept between the retention and the retention plus one span.
   */
  async dropBefore(table: string, cutoff: number, active: () => boolean): Promise<PartitionDrop | undefined> {
    const known = this.catalog.get(table);
    if (!known || !known.some((p) => p.endMs <= cutoff)) return undefined;
    return withSchemaLock(this.pool, table, async (conn) => {
      const parts = (await readPartitionCatalog(conn, table)).get(table) ?? [];
      const old = parts.filter((p) => p.endMs <= cutoff).slice(0, Math.max(0, parts.length - 2));
      if (old.length === 0 || !active()) return undefined;
      const names = old.map((p) => p.name);
      const list = names.map(quoteIdentifier).join(', ');
      const [[{ n }]] = await conn.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${quoteIdentifier(table)} PARTITION (${list})`);
      const started = performance.now();
      await conn.query(`ALTER TABLE ${quoteIdentifier(table)} DROP PARTITION ${list}`);
      const drop: PartitionDrop = { table, partitions: names, rows: Number(n), ms: performance.now() - started };
      this.droppedRows += drop.rows;
      this.droppedPartitions += names.length;
      this.drops.push(drop);
      if (this.drops.length > 100) this.drops.shift();
      this.logger.info(`retention: dropped ${names.length} partition(s) of ${table} (${drop.rows} rows, before ${new Date(cutoff).toISOString()}) in ${Math.round(drop.ms)} ms`);
      this.catalog.set(table, (await readPartitionCatalog(conn, table)).get(table) ?? []);
      return drop;
    });
  }

  /** Ensures partitions ahead on every partitioned table; one table's failure is logged, the others go on. */
  async ensureAheadAll(tables: string[], now: number): Promise<void> {
    for (const table of tables) {
      if (!this.isPartitioned(table)) continue;
      try {
        await this.ensureAhead(table, now);
      } catch (err) {
        this.logger.error(`cannot create partitions ahead in ${table}: ${errorMessage(err)}`);
      }
    }
  }

  private lastBound(parts: TimePartition[] | undefined): number {
    const finite = (parts ?? []).filter((p) => Number.isFinite(p.endMs));
    return finite.length ? finite.at(-1)!.endMs : Number.POSITIVE_INFINITY;
  }
}
