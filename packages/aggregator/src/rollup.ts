import { levelTableName, MINUTE_MS, quoteIdentifier, rollupLevel, type Logger, type Pool, type PoolConnection, type ResultSetHeader, type RollupLevelName, type RowDataPacket } from '@watched/core';
import { bucketStart, completeBefore } from './buckets.js';
import { deleteBucketsSql, upsertBucketsSql } from './rollup-sql.js';
import { ROW_COUNT_COLUMN, type DataTypeSchema } from './rollup-tables.js';
import { inReadCommittedTransaction } from './transactions.js';
import { Watermarks } from './watermarks.js';

/** One pass's clock, fencing token and stop condition. */
export interface PassContext {
  /** Epoch ms the pass reasons about (Date.now() in production, fixed in tests). */
  now: number;
  /** Fencing token of the lease; every write checks it against the watermark row. */
  term: number;
  /** False once the lease is lost or the role is closing: work stops between statements. */
  active: () => boolean;
}

export interface RollupSettings {
  /** Source span per statement, per level (ms, a multiple of the level's bucket size). */
  chunk: Record<RollupLevelName, number>;
  /** How far below the minute watermark raw rows are compared with am$ to find late rows. */
  lateWindow: number;
}

export interface RollupCounters {
  /** Buckets written by INSERT ... SELECT (forward chunks and recomputations). */
  bucketsWritten: number;
  chunks: number;
  /** Minute buckets recomputed because raw rows arrived after they were rolled up. */
  lateMinutes: number;
  /** Hour and day buckets recomputed because a finer level changed under them. */
  dirtyBuckets: number;
}

const PROGRESS_LOG_MS = 10_000;

/**
 * Rolls one data type up, one level at a time: forward chunks past the
 * watermark, late raw rows below it, and parents of recomputed buckets.
 * Every write is a whole-bucket recomputation in a transaction that also
 * checks the fencing token and moves the watermark or the dirty marks.
 */
export class Rollup {
  readonly counters: RollupCounters = { bucketsWritten: 0, chunks: 0, lateMinutes: 0, dirtyBuckets: 0 };

  constructor(
    private readonly pool: Pool,
    private readonly watermarks: Watermarks,
    private readonly settings: RollupSettings,
    private readonly logger: Logger,
  ) {}

  /**
   * Rolls up complete buckets from the level's watermark to
   * `now - delay` (and never past what the finer level has done), in
   * chunks of bounded span, at most `maxChunks` of them. Returns the new
   * watermark and whether complete buckets are left (budget spent or
   * interrupted).
   */
  async forward(
    schema: DataTypeSchema,
    target: RollupLevelName,
    delayMs: number,
    ctx: PassContext,
    maxChunks = Number.POSITIVE_INFINITY,
  ): Promise<{ mark?: number; behind: boolean }> {
    const lvl = rollupLevel(target);
    const source = levelTableName(lvl.source, schema.dataType);
    const label = levelTableName(target, schema.dataType);
    let limit = completeBefore(ctx.now, lvl.size, delayMs);
    if (lvl.source !== 'd') {
      const sourceMark = await this.watermarks.get(schema.dataType, lvl.source);
      if (sourceMark === undefined) return { behind: false };
      limit = Math.min(limit, bucketStart(sourceMark, lvl.size));
    }
    // Aligned defensively: a range that starts inside a bucket would replace it with a partial one.
    const stored = await this.watermarks.get(schema.dataType, target);
    let mark = stored === undefined ? undefined : bucketStart(stored, lvl.size);
    if (mark === undefined) {
      const first = await this.firstTimestamp(source, Number.NEGATIVE_INFINITY, limit);
      if (first === undefined) return { behind: false };
      mark = bucketStart(first, lvl.size);
    }
    const startMark = mark;
    const sql = upsertBucketsSql(schema, target);
    let lastLog = performance.now();
    let chunks = 0;
    const catchingUp = limit - mark > 10 * this.settings.chunk[target];
    if (catchingUp) {
      this.logger.info(`${label}: catching up ${formatSpan(limit - mark)} from ${new Date(mark).toISOString()}`);
    }
    while (mark < limit && chunks < maxChunks && ctx.active()) {
      // Skip empty spans at once (an idle resource, a gap after downtime): the next chunk starts at the next row.
      const next = await this.firstTimestamp(source, mark, limit);
      const end = next === undefined ? limit : Math.min(bucketStart(next, lvl.size) + this.settings.chunk[target], limit);
      const from = mark;
      const written = await inReadCommittedTransaction(this.pool, async (conn) => {
        const locked = await this.watermarks.lock(conn, schema.dataType, target, ctx.term);
        if (locked !== undefined && bucketStart(locked, lvl.size) > from) return -1;
        const [result] = await conn.query<ResultSetHeader>(sql, [from, end]);
        await this.watermarks.set(conn, schema.dataType, target, end, ctx.term, ctx.now);
        return result.affectedRows;
      });
      if (written < 0) {
        // Another writer (an earlier term that still held a connection) got further: continue from its mark.
        mark = bucketStart((await this.watermarks.get(schema.dataType, target)) ?? end, lvl.size);
        continue;
      }
      this.counters.bucketsWritten += written;
      this.counters.chunks += 1;
      chunks += 1;
      mark = end;
      if (catchingUp && performance.now() - lastLog >= PROGRESS_LOG_MS) {
        lastLog = performance.now();
        const done = (mark - startMark) / (limit - startMark);
        this.logger.info(`${label}: catching up, at ${new Date(mark).toISOString()} (${(done * 100).toFixed(1)}%, ${formatSpan(limit - mark)} behind)`);
      }
    }
    if (catchingUp && mark >= limit) this.logger.info(`${label}: caught up (${chunks} chunks)`);
    return { mark, behind: mark < limit };
  }

  /**
   * Finds minute buckets below the minute watermark whose raw row count grew
   * since they were rolled up (late rows), within `lateWindow`, and
   * recomputes them and marks their hour (and so day) dirty. With `force`,
   * recomputes the whole window (after a metric column was added).
   * Cost: one index-only count of d$ over the window and one of am$.
   */
  async repairLateRows(schema: DataTypeSchema, ctx: PassContext, force = false): Promise<number> {
    const mark = await this.watermarks.get(schema.dataType, 'am');
    if (mark === undefined) return 0;
    const from = bucketStart(mark - this.settings.lateWindow, MINUTE_MS);
    let stale: number[];
    if (force) {
      stale = [];
      for (let b = from; b < mark; b += MINUTE_MS) stale.push(b);
    } else {
      const raw = await this.countsPerMinute(`SELECT FLOOR(\`timestamp\` / ${MINUTE_MS}) * ${MINUTE_MS} AS b, COUNT(*) AS n
         FROM ${quoteIdentifier(levelTableName('d', schema.dataType))} WHERE \`timestamp\` >= ? AND \`timestamp\` < ? GROUP BY b`, from, mark);
      const rolled = await this.countsPerMinute(`SELECT \`timestamp\` AS b, SUM(${ROW_COUNT_COLUMN}) AS n
         FROM ${quoteIdentifier(levelTableName('am', schema.dataType))} WHERE \`timestamp\` >= ? AND \`timestamp\` < ? GROUP BY b`, from, mark);
      // Only growth is a late row: fewer raw rows than rolled up means retention or the front deleted them.
      stale = [...raw].filter(([b, n]) => n > (rolled.get(b) ?? 0)).map(([b]) => b).sort((a, b) => a - b);
    }
    let repaired = 0;
    for (const [start, end] of this.ranges(stale, MINUTE_MS, this.settings.chunk.am)) {
      if (!ctx.active()) break;
      await this.recompute(schema, 'am', start, end, ctx);
      repaired += (end - start) / MINUTE_MS;
    }
    if (repaired > 0) {
      this.counters.lateMinutes += repaired;
      this.logger.info(`${levelTableName('am', schema.dataType)}: recomputed ${repaired} minute buckets${force ? ' for new metric columns' : ' with late rows'}`);
    }
    return repaired;
  }

  /**
   * Recomputes the buckets of a level marked dirty in `c$rollup_dirty`,
   * marking their parents in turn. Hours and days are marked by the
   * aggregator itself; minute marks are the hook for ingestion to report
   * late rows exactly (nothing writes them yet).
   */
  async processDirty(schema: DataTypeSchema, target: RollupLevelName, ctx: PassContext): Promise<number> {
    const lvl = rollupLevel(target);
    let done = 0;
    for (;;) {
      const [rows] = await this.pool.query<RowDataPacket[]>(
        'SELECT bucket FROM `c$rollup_dirty` WHERE data_type = ? AND level = ? ORDER BY bucket LIMIT 100',
        [schema.dataType, target],
      );
      if (rows.length === 0) break;
      for (const row of rows) {
        if (!ctx.active()) return done;
        const bucket = Number(row.bucket);
        await this.recompute(schema, target, bucket, bucket + lvl.size, ctx, bucket);
        done += 1;
      }
    }
    this.counters.dirtyBuckets += done;
    return done;
  }

  /**
   * Deletes and recomputes the buckets of [start, end) at one level, marks
   * the parent buckets already rolled up as dirty, and (for a dirty bucket)
   * clears its mark: all in one fenced transaction.
   */
  private async recompute(schema: DataTypeSchema, target: RollupLevelName, start: number, end: number, ctx: PassContext, dirtyBucket?: number) {
    const lvl = rollupLevel(target);
    const t: number[] = [performance.now()];
    await inReadCommittedTransaction(this.pool, async (conn) => {
      await this.watermarks.lock(conn, schema.dataType, target, ctx.term);
      t.push(performance.now());
      await conn.query(deleteBucketsSql(schema, target), [start, end]);
      t.push(performance.now());
      const [result] = await conn.query<ResultSetHeader>(upsertBucketsSql(schema, target), [start, end]);
      t.push(performance.now());
      this.counters.bucketsWritten += result.affectedRows;
      if (lvl.parent) await this.markParents(conn, schema.dataType, lvl.parent, start, end, ctx.now);
      t.push(performance.now());
      if (dirtyBucket !== undefined) {
        await conn.query('DELETE FROM `c$rollup_dirty` WHERE data_type = ? AND level = ? AND bucket = ?', [schema.dataType, target, dirtyBucket]);
      }
    });
    t.push(performance.now());
    this.logger.debug(`recomputed ${levelTableName(target, schema.dataType)} [${new Date(start).toISOString()}, ${new Date(end).toISOString()})`, {
      ms: t.slice(1).map((v, i) => Math.round(v - t[i])),
    });
  }

  private async markParents(conn: PoolConnection, dataType: string, parent: RollupLevelName, start: number, end: number, now: number) {
    const parentMark = await this.watermarks.get(dataType, parent, conn);
    if (parentMark === undefined) return;
    const size = rollupLevel(parent).size;
    const values: (string | number)[][] = [];
    for (let b = bucketStart(start, size); b < end && b < parentMark; b += size) values.push([dataType, parent, b, now]);
    if (values.length === 0) return;
    await conn.query('INSERT IGNORE INTO `c$rollup_dirty` (data_type, level, bucket, marked_at) VALUES ?', [values]);
  }

  private async firstTimestamp(table: string, from: number, before: number): Promise<number | undefined> {
    const [[row]] = await this.pool.query<RowDataPacket[]>(
      `SELECT MIN(\`timestamp\`) AS ts FROM ${quoteIdentifier(table)} WHERE \`timestamp\` >= ? AND \`timestamp\` < ?`,
      [Number.isFinite(from) ? from : -Number.MAX_VALUE, before],
    );
    return row.ts === null ? undefined : Number(row.ts);
  }

  private async countsPerMinute(sql: string, from: number, to: number): Promise<Map<number, number>> {
    const [rows] = await this.pool.query<RowDataPacket[]>(sql, [from, to]);
    return new Map(rows.map((r) => [Number(r.b), Number(r.n)]));
  }

  /** Merges sorted bucket starts into [start, end) ranges of at most `maxSpan`. */
  private *ranges(buckets: number[], size: number, maxSpan: number): Generator<[number, number]> {
    let start: number | undefined;
    let end = 0;
    for (const b of buckets) {
      if (start !== undefined && b === end && end + size - start <= maxSpan) {
        end += size;
        continue;
      }
      if (start !== undefined) yield [start, end];
      start = b;
      end = b + size;
    }
    if (start !== undefined) yield [start, end];
  }
}

function formatSpan(ms: number): string {
  if (ms >= 2 * 86_400_000) return `${(ms / 86_400_000).toFixed(1)} days`;
  if (ms >= 2 * 3_600_000) return `${(ms / 3_600_000).toFixed(1)} hours`;
  return `${Math.round(ms / 60_000)} minutes`;
}
