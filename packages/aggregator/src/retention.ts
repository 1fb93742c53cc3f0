import { DAY_MS, HOUR_MS, levelTableName, MINUTE_MS, quoteIdentifier, type DataLevelName, type Logger, type Pool, type ResultSetHeader, type RollupLevelName } from '@watched/core';
import { bucketStart } from './buckets.js';
import type { TypeConfig } from './aggregate-config.js';
import type { DataPartitions } from './partitions.js';
import type { PassContext } from './rollup.js';
import type { Watermarks } from './watermarks.js';

/**
 * Per level: the level whose watermark bounds deletion (nothing is deleted
 * before the next level has rolled it up) and the alignment of the cutoff
 * (whole buckets of that next level, so the front never sees half of one).
 */
const PLAN: { level: DataLevelName; consumer?: RollupLevelName; align: number }[] = [
  { level: 'd', consumer: 'am', align: MINUTE_MS },
  { level: 'am', consumer: 'ah', align: HOUR_MS },
  { level: 'ah', consumer: 'ad', align: DAY_MS },
  { level: 'ad', align: DAY_MS },
];

/**
 * Removes rows older than each level's retention. A `d$` table partitioned
 * by time loses whole partitions (DataPartitions.dropBefore: a metadata
 * change, whatever the number of rows); other tables (rollups, `d$` tables
 * not converted yet) are deleted from in batches of `batchRows`
 * (`DELETE ... ORDER BY timestamp LIMIT n` on the timestamp index), one
 * short statement at a time, so ingestion never waits on a long lock.
 * Retention 0 keeps a level forever.
 */
export class Retention {
  deletedRows = 0;

  constructor(
    private readonly pool: Pool,
    private readonly watermarks: Watermarks,
    private readonly batchRows: number,
    private readonly logger: Logger,
    private readonly partitions?: DataPartitions,
  ) {}

  /** The cutoff of a level at `now`: rows with `timestamp` below it are deleted (undefined: keep everything). */
  async cutoff(dataType: string, level: DataLevelName, config: TypeConfig, now: number): Promise<number | undefined> {
    const plan = PLAN.find((p) => p.level === level)!;
    const retention = config.retention[level];
    if (!(retention > 0)) return undefined;
    let cutoff = bucketStart(now - retention, plan.align);
    if (plan.consumer) {
      const mark = await this.watermarks.get(dataType, plan.consumer);
      if (mark === undefined) return undefined;
      cutoff = Math.min(cutoff, bucketStart(mark, plan.align));
    }
    return cutoff;
  }

  async apply(dataType: string, config: TypeConfig, ctx: PassContext): Promise<number> {
    let total = 0;
    for (const { level } of PLAN) {
      const cutoff = await this.cutoff(dataType, level, config, ctx.now);
      if (cutoff === undefined) continue;
      const name = levelTableName(level, dataType);
      if (this.partitions?.isPartitioned(name)) {
        total += (await this.partitions.dropBefore(name, cutoff, ctx.active))?.rows ?? 0;
        continue;
      }
      const table = quoteIdentifier(name);
      let deleted = 0;
      for (;;) {
        if (!ctx.active()) break;
        const [result] = await this.pool.query<ResultSetHeader>(
          `DELETE FROM ${table} WHERE \`timestamp\` < ? ORDER BY \`timestamp\` LIMIT ${this.batchRows}`,
          [cutoff],
        );
        deleted += result.affectedRows;
        if (result.affectedRows < this.batchRows) break;
      }
      if (deleted > 0) this.logger.info(`retention: deleted ${deleted} rows of ${levelTableName(level, dataType)} before ${new Date(cutoff).toISOString()}`);
      total += deleted;
    }
    this.deletedRows += total;
    return total;
  }
}
