/**
 * Time partitions of the raw `d$` tables (issue 18): retention drops whole
 * partitions instead of deleting rows.
 *
 * `timestamp` is a DOUBLE (epoch ms with fractions), which MariaDB refuses
 * as a RANGE COLUMNS column and in FLOOR()/CAST() partition functions; the
 * integer division `timestamp DIV 1000` (epoch seconds) is accepted, keeps
 * the primary key (owner, res_id, timestamp) as it is (the partitioning
 * column is in it, so one row per natural key still holds) and adds no
 * column the web front would take for a metric. Partition `p<start>` holds
 * [start, end) in ms; the first one also holds everything older, and the
 * catch-all `pfuture` (MAXVALUE) holds rows beyond the partitions created
 * ahead (a clock-skewed agent): no row is ever refused.
 */
import { DAY_MS, MINUTE_MS } from '../contracts/rollups.js';
import { quoteIdentifier } from '../identifiers.js';
import type { Connection, Pool, PoolConnection, RowDataPacket } from '../mysql.js';

export const PARTITION_EXPRESSION = '`timestamp` DIV 1000';
/** The MAXVALUE partition: rows beyond the partitions created ahead. */
export const FUTURE_PARTITION = 'pfuture';
/** Partition span of the aggregator and of converted tables unless set otherwise. */
export const DEFAULT_PARTITION_SPAN_MS = DAY_MS;
/** Partitions kept ready beyond the current one. */
export const DEFAULT_PARTITIONS_AHEAD = 3;
/** Partition names carry the minute of their start: no finer span. */
export const MIN_PARTITION_SPAN_MS = MINUTE_MS;
/** MariaDB allows 8192 partitions per table; a conversion creates at most this many, older rows share the first. */
export const MAX_INITIAL_PARTITIONS = 400;

export interface TimePartition {
  name: string;
  /** Exclusive upper bound in epoch ms (Infinity for `pfuture`). */
  endMs: number;
  /** InnoDB's estimate (information_schema), for logs and progress only. */
  estimatedRows: number;
}

type Queryable = Pool | PoolConnection | Connection;

/** `p20261204_0000`: the UTC minute a partition starts at. */
export function partitionName(startMs: number): string {
  const iso = new Date(startMs).toISOString(); // 2026-12-04T00:00:00.000Z
  return `p${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}_${iso.slice(11, 13)}${iso.slice(14, 16)}`;
}

export function partitionDefinition(startMs: number, endMs: number): string {
  if (endMs % 1000 !== 0) throw new Error(`partition bound ${endMs} is not a whole second`);
  return `PARTITION ${quoteIdentifier(partitionName(startMs))} VALUES LESS THAN (${endMs / 1000})`;
}

export function futurePartitionDefinition(): string {
  return `PARTITION ${quoteIdentifier(FUTURE_PARTITION)} VALUES LESS THAN MAXVALUE`;
}

/** Start of the span-aligned partition holding `ms` (spans align on the epoch: UTC days for 1d). */
export function partitionStart(ms: number, spanMs: number): number {
  return Math.floor(ms / spanMs) * spanMs;
}

/**
 * The partition clause of a table holding rows from `oldestMs` (undefined:
 * none yet) at `nowMs`: span-aligned partitions from the oldest row's (at
 * most MAX_INITIAL_PARTITIONS back) to `ahead` partitions past now's, then
 * `pfuture`.
 */
export function initialPartitionClause(nowMs: number, spanMs: number, ahead: number, oldestMs?: number): string {
  const current = partitionStart(nowMs, spanMs);
  const floor = current - (MAX_INITIAL_PARTITIONS - ahead - 1) * spanMs;
  let start = oldestMs === undefined || !Number.isFinite(oldestMs) ? current : Math.max(floor, Math.min(current, partitionStart(oldestMs, spanMs)));
  const parts: string[] = [];
  for (; start <= current + ahead * spanMs; start += spanMs) parts.push(partitionDefinition(start, start + spanMs));
  parts.push(futurePartitionDefinition());
  return `PARTITION BY RANGE (${PARTITION_EXPRESSION}) (${parts.join(', ')})`;
}

/** The time partitions of a table in order, or undefined when it is not partitioned. */
export async function readTimePartitions(conn: Queryable, table: string): Promise<TimePartition[] | undefined> {
  return (await readPartitionCatalog(conn, table)).get(table);
}

/**
 * The time partitions of every partitioned table (or of `only`) in one
 * catalogue query. A table partitioned otherwise (by hand) is an error for
 * the caller to report: retention and the orphan sweep leave it alone.
 */
export async function readPartitionCatalog(conn: Queryable, only?: string): Promise<Map<string, TimePartition[]>> {
  const [rows] = await conn.query<RowDataPacket[]>(
    `SELECT TABLE_NAME AS t, PARTITION_NAME AS name, PARTITION_DESCRIPTION AS bound, PARTITION_EXPRESSION AS expr, TABLE_ROWS AS n
       FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = DATABASE() AND PARTITION_NAME IS NOT NULL${only ? ' AND TABLE_NAME = ?' : ''}
      ORDER BY TABLE_NAME, PARTITION_ORDINAL_POSITION`,
    only ? [only] : [],
  );
  const out = new Map<string, TimePartition[]>();
  for (const r of rows) {
    const table = String(r.t);
    if (!isOurExpression(String(r.expr))) continue;
    let parts = out.get(table);
    if (!parts) out.set(table, (parts = []));
    parts.push({
      name: String(r.name),
      endMs: String(r.bound).toUpperCase() === 'MAXVALUE' ? Number.POSITIVE_INFINITY : Number(r.bound) * 1000,
      estimatedRows: Number(r.n ?? 0),
    });
  }
  return out;
}

/** Tables partitioned by our expression. */
export async function readPartitionedTables(conn: Queryable): Promise<Set<string>> {
  return new Set((await readPartitionCatalog(conn)).keys());
}

function isOurExpression(expr: string): boolean {
  return expr.replace(/\s+/g, ' ').toLowerCase() === PARTITION_EXPRESSION.toLowerCase();
}
