import { levelTableName, quoteIdentifier, resourceLinkTable, rollupLevel, type RollupLevelName } from '@watched/core';
import { sqlBucket } from './buckets.js';
import { METRIC_PREFIXES, ROW_COUNT_COLUMN, type DataTypeSchema } from './rollup-tables.js';

/** Column list of a rollup table, in the order the SELECTs below produce them. */
function rollupColumns(schema: DataTypeSchema): string[] {
  return [
    schema.owner,
    'res_id',
    '`timestamp`',
    ROW_COUNT_COLUMN,
    ...schema.metrics.flatMap((m) => METRIC_PREFIXES.map((p) => quoteIdentifier(p + m))),
  ];
}

/** Aggregates of one metric from raw rows: avg, min, max, sum, count of non-NULL values. */
function rawAggregates(metric: string): string[] {
  const m = quoteIdentifier(metric);
  return [`SUM(${m}) / NULLIF(COUNT(${m}), 0)`, `MIN(${m})`, `MAX(${m})`, `SUM(${m})`, `COUNT(${m})`];
}

/** Aggregates of one metric from a finer rollup: the average is weighted by counts, never an average of averages. */
function rollupAggregates(metric: string): string[] {
  const [sum, min, max, cnt] = ['sum_', 'min_', 'max_', 'cnt_'].map((p) => quoteIdentifier(p + metric));
  return [`SUM(${sum}) / NULLIF(SUM(${cnt}), 0)`, `MIN(${min})`, `MAX(${max})`, `SUM(${sum})`, `SUM(${cnt})`];
}

/**
 * `INSERT INTO <level>$<type> SELECT <buckets of [?, ?) of the source>
 * ON DUPLICATE KEY UPDATE <every value>`: each bucket is recomputed whole
 * from its source and replaces what was there, so running a range twice
 * (an interrupted chunk, a late row) never counts anything twice.
 * Raw rows count only while their resource link exists: a partitioned d$
 * table has no foreign key, so the rows of a host the front just deleted
 * stay until the orphan sweep, and the rollup tables' foreign key would
 * refuse their buckets.
 * Parameters: range start (inclusive), range end (exclusive), both bucket-aligned.
 */
export function upsertBucketsSql(schema: DataTypeSchema, target: RollupLevelName): string {
  const lvl = rollupLevel(target);
  const source = quoteIdentifier(levelTableName(lvl.source, schema.dataType));
  const owner = schema.owner;
  const values =
    lvl.source === 'd'
      ? ['COUNT(*)', ...schema.metrics.flatMap(rawAggregates)]
      : [`SUM(${ROW_COUNT_COLUMN})`, ...schema.metrics.flatMap(rollupAggregates)];
  const columns = rollupColumns(schema);
  const updates = columns.slice(3).map((c) => `${c} = VALUES(${c})`);
  return (
    `INSERT INTO ${quoteIdentifier(levelTableName(target, schema.dataType))} (${columns.join(', ')}) ` +
    `SELECT ${owner}, res_id, ${sqlBucket('`timestamp`', lvl.size)} AS bucket, ${values.join(', ')} ` +
    `FROM ${source} s WHERE \`timestamp\` >= ? AND \`timestamp\` < ?${lvl.source === 'd' ? linked(owner) : ''} GROUP BY ${owner}, res_id, bucket ` +
    `ON DUPLICATE KEY UPDATE ${updates.join(', ')}`
  );
}

function linked(owner: 'host_id' | 'serv_id'): string {
  return ` AND EXISTS (SELECT 1 FROM ${quoteIdentifier(resourceLinkTable(owner))} l WHERE l.${owner} = s.${owner} AND l.res_id = s.res_id)`;
}

/** Deletes a level's buckets in [?, ?) before they are recomputed (a bucket whose source rows are gone must go too). */
export function deleteBucketsSql(schema: DataTypeSchema, target: RollupLevelName): string {
  return `DELETE FROM ${quoteIdentifier(levelTableName(target, schema.dataType))} WHERE \`timestamp\` >= ? AND \`timestamp\` < ?`;
}
