import { createMysqlPool, DataTablePartitioner, type Logger, type MysqlConnectionOptions } from '@watched/core';
import { Progress } from '../progress.js';

export interface PartitionConversionOptions {
  mysql: MysqlConnectionOptions;
  spanMs: number;
  ahead: number;
  logger: Logger;
}

/**
 * `watched migrate --partition`: converts every d$ table not partitioned
 * yet, one table at a time (DataTablePartitioner), with progress in rows
 * (a bar on a terminal, plain lines otherwise). Killed at any point, the
 * next run converts what is left. Resolves to the rows converted.
 */
export async function convertDataTables(options: PartitionConversionOptions): Promise<{ tables: number; rows: number; ms: number }> {
  const pool = createMysqlPool(options.mysql, { connectionLimit: 2 });
  const partitioner = new DataTablePartitioner({ spanMs: options.spanMs, ahead: options.ahead, logger: options.logger });
  const started = performance.now();
  try {
    const pending = await partitioner.pending(pool);
    if (pending.length === 0) {
      options.logger.info('every d$ table is partitioned already: nothing to do');
      return { tables: 0, rows: 0, ms: 0 };
    }
    const total = pending.reduce((s, t) => s + t.estimatedRows, 0);
    options.logger.info(`partitioning ${pending.length} d$ table(s), about ${total.toLocaleString('en-US')} rows; writes to the table being converted wait until it is done`);
    const progress = new Progress('partitioning d$ tables', total, { unit: 'rows (estimated)' });
    let done = 0;
    let rows = 0;
    let tables = 0;
    try {
      for (const table of pending) {
        const result = await partitioner.convertLocked(pool, table.table, (f) => progress.update(done + Math.round(f * table.estimatedRows)));
        done += table.estimatedRows;
        progress.update(done);
        if (result.converted) {
          rows += result.rows;
          tables += 1;
        }
      }
    } finally {
      progress.stop();
    }
    const ms = performance.now() - started;
    options.logger.info(
      `partitioned ${tables} d$ table(s), ${rows.toLocaleString('en-US')} rows in ${(ms / 1000).toFixed(1)} s` +
        (rows > 0 ? ` (${((ms / 1000) * (1e6 / rows)).toFixed(1)} s per million rows)` : ''),
    );
    return { tables, rows, ms };
  } finally {
    await pool.end();
  }
}
