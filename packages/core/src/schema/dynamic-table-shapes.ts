/**
 * The layout of the tables created at run time: `d$<type>` (by the worker on
 * first sight of a data type) and `am$`/`ah$`/`ad$<type>` (by the
 * aggregator). Defined once here so that the worker, the aggregator and the
 * upgrade of a watched.back database all produce the same tables.
 */
import { quoteIdentifier } from '../identifiers.js';
import { initialPartitionClause, MIN_PARTITION_SPAN_MS } from './partitioning.js';

export type OwnerColumn = 'host_id' | 'serv_id';

/** Per-metric rollup columns, in upstream's order (avg, min, max) then ours. */
export const METRIC_PREFIXES = ['avg_', 'min_', 'max_', 'sum_', 'cnt_'] as const;
/** Rows of the finer level behind a rollup bucket (the aggregator's late-row check). */
export const ROW_COUNT_COLUMN = 'n_rows';
/** The index the aggregator adds on `d$.timestamp` (range scans by time). */
export const DATA_TIME_INDEX = 'watched_timestamp_i';
/** The rollup tables' index serving chunk ranges, retention and the late-row check. */
export const ROLLUP_TIME_INDEX = 'timestamp_i';

/** The resource-link table an owner column points to. */
export function resourceLinkTable(owner: OwnerColumn): 'h$ressources' | 's$ressources' {
  return owner === 'host_id' ? 'h$ressources' : 's$ressources';
}

function keyColumns(owner: OwnerColumn): string[] {
  return [`${owner} INT UNSIGNED NOT NULL`, 'res_id INT UNSIGNED NOT NULL', '`timestamp` DOUBLE NOT NULL'];
}

/** Key (owner, res_id, timestamp) and a foreign key to the owner's resource link, so deleting a host or service in the front removes its rollups (d$ tables keep the key only: they are partitioned). */
function keyConstraints(table: string, owner: OwnerColumn): string[] {
  return [
    `PRIMARY KEY (${owner}, res_id, \`timestamp\`)`,
    `CONSTRAINT ${quoteIdentifier(`fk_${table}`)} FOREIGN KEY (${owner}, res_id) ` +
      `REFERENCES ${quoteIdentifier(resourceLinkTable(owner))} (${owner}, res_id) ON DELETE CASCADE ON UPDATE CASCADE`,
  ];
}

/**
 * `d$<type>`: owner, res_id, timestamp, one DOUBLE per metric (the web front
 * reads INT/DOUBLE columns only; DOUBLE keeps fractions an agent sends for
 * "integer" properties), partitioned by time (partitioning.ts) so retention
 * drops whole partitions. Partitioned InnoDB tables cannot carry foreign
 * keys: the aggregator's orphan sweep removes the rows of a deleted host or
 * service instead of the cascade. A new table gets one partition, up to the
 * end of the current minute, and the catch-all: the aggregator adds its own
 * spans from there (the worker does not know them), moving the few rows
 * written into the catch-all meanwhile. `timeIndex` adds the aggregator's
 * time index at creation instead of a later ALTER; `nowMs` places the first
 * partition (default: the clock).
 */
export function dataTableDdl(
  table: string,
  owner: OwnerColumn,
  metrics: readonly string[],
  options: { timeIndex?: boolean; nowMs?: number } = {},
): string {
  return (
    `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(table)} (` +
    [
      ...keyColumns(owner),
      ...metrics.map((m) => `${quoteIdentifier(m)} DOUBLE NULL`),
      ...keyConstraints(table, owner).slice(0, 1),
      ...(options.timeIndex ? [`KEY ${quoteIdentifier(DATA_TIME_INDEX)} (\`timestamp\`)`] : []),
    ].join(', ') +
    ') ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 ' +
    initialPartitionClause(options.nowMs ?? Date.now(), MIN_PARTITION_SPAN_MS, 0)
  );
}

/** The five rollup columns of one metric; DOUBLE like every value (counts are exact up to 2^53). */
export function rollupColumnDefinitions(metric: string): string[] {
  return METRIC_PREFIXES.map((p) =>
    p === 'cnt_' ? `${quoteIdentifier(p + metric)} DOUBLE NOT NULL DEFAULT 0` : `${quoteIdentifier(p + metric)} DOUBLE NULL`,
  );
}

/**
 * `am$`/`ah$`/`ad$<type>`: the d$ key, `n_rows`, the five columns of every
 * metric, and an index on (timestamp, n_rows) that serves the chunk ranges,
 * retention and the late-row check without touching the rows.
 */
export function rollupTableDdl(table: string, owner: OwnerColumn, metrics: readonly string[]): string {
  return (
    `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(table)} (` +
    [
      ...keyColumns(owner),
      `${ROW_COUNT_COLUMN} DOUBLE NOT NULL DEFAULT 0`,
      ...metrics.flatMap(rollupColumnDefinitions),
      ...keyConstraints(table, owner).slice(0, 1),
      `KEY ${quoteIdentifier(ROLLUP_TIME_INDEX)} (\`timestamp\`, ${ROW_COUNT_COLUMN})`,
      ...keyConstraints(table, owner).slice(1),
    ].join(', ') +
    ') ENGINE=InnoDB DEFAULT CHARSET=utf8mb4'
  );
}
