import { errorMessage, type Logger, type PoolConnection } from '@watched/core';
import { isLocalInfileRefused, loadData, loadDataDuplicates } from './load-data.js';
import { insertBatched, type BatchInsert } from './sql-batch.js';

export type WriteMethod = 'load-data' | 'insert';

export interface RowWriterOptions {
  /** `load-data`: LOAD DATA LOCAL INFILE where an insert allows it, multi-row INSERT otherwise; `insert`: INSERT only. */
  method: WriteMethod;
  /** Rows per multi-row INSERT statement. */
  insertBatchRows: number;
  logger: Logger;
}

/**
 * Writes the worker's rows, choosing the statement per insert: rows that
 * LOAD DATA stores exactly as the INSERT would (`ignore` inserts, and
 * `replaceable` upserts: the `d$` rows) are streamed with LOAD DATA LOCAL
 * INFILE, the rest go as multi-row INSERTs. When the server (local_infile
 * off) or a proxy refuses LOAD DATA LOCAL, the writer says so once and uses
 * INSERTs from then on; the refused statement changed nothing, so the rows
 * are written again as INSERTs in the same transaction.
 */
export class RowWriter {
  private loadDataRefused = false;

  constructor(private readonly options: RowWriterOptions) {}

  /** Whether inserts that allow it are loaded (false after a refusal, or when configured so). */
  get loadsData(): boolean {
    return this.options.method === 'load-data' && !this.loadDataRefused;
  }

  async write(db: PoolConnection, insert: BatchInsert): Promise<void> {
    const duplicates = this.loadsData ? loadDataDuplicates(insert) : undefined;
    if (duplicates) {
      try {
        return await loadData(db, insert, duplicates);
      } catch (err) {
        if (!isLocalInfileRefused(err)) throw err;
        if (!this.loadDataRefused) {
          this.loadDataRefused = true;
          this.options.logger.warn(
            `LOAD DATA LOCAL INFILE refused (${errorMessage(err)}): writing rows as multi-row INSERTs from now on (allow local_infile on the server, or set --write-method insert)`,
          );
        }
      }
    }
    await insertBatched(db, insert, this.options.insertBatchRows);
  }
}
