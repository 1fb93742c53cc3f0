import { quoteIdentifier, resourceLinkTable, type Logger, type Pool, type ResultSetHeader, type RowDataPacket } from '@watched/core';
import type { DataTypeSchema } from './rollup-tables.js';

export interface OrphanSweepSettings {
  /** Time budget of one sweep (ms): it stops between statements once spent and goes on at the next. */
  budgetMs: number;
  /** Rows per DELETE statement. */
  deleteBatch: number;
  /** Series (owner, resource) read per catalogue step. */
  seriesBatch: number;
}

/** What one sweep did (logged, reported by the bench). */
export interface SweepReport {
  ms: number;
  seriesScanned: number;
  orphanSeries: number;
  deletedRows: number;
  /** Whether every table was walked to its end (false: budget spent, the next sweep resumes). */
  complete: boolean;
}

/**
 * Deletes the `d$` rows of series whose resource link is gone: partitioned
 * tables cannot carry the foreign key whose ON DELETE CASCADE did it when
 * the front deleted a host or a service (its host cleaning deletes
 * `h$hosts`, which cascades to `h$ressources` and `s$services`).
 *
 * Bounded: it walks each table's distinct (owner, res_id) pairs in key
 * order with a loose index scan on the primary key (cost per series and
 * partition, not per row), `seriesBatch` at a time from a cursor kept
 * between sweeps, compares them with the link table, and deletes an
 * orphan's rows by primary-key prefix, `deleteBatch` rows a statement,
 * until the time budget is spent.
 */
export class OrphanSweep {
  deletedRows = 0;
  lastReport?: SweepReport;
  /** Where the walk of each table stands: the last (owner, res_id) pair read. */
  private readonly cursors = new Map<string, [number, number]>();
  private next = 0;

  constructor(
    private readonly pool: Pool,
    private readonly settings: OrphanSweepSettings,
    private readonly logger: Logger,
  ) {}

  /** Sweeps the given tables, starting where the last sweep stopped. */
  async run(schemas: DataTypeSchema[], active: () => boolean): Promise<SweepReport> {
    const started = performance.now();
    const report: SweepReport = { ms: 0, seriesScanned: 0, orphanSeries: 0, deletedRows: 0, complete: true };
    const within = () => active() && performance.now() - started < this.settings.budgetMs;
    // Start with the table the previous sweep stopped in, so a small budget still reaches every table in turn.
    for (let i = 0; i < schemas.length; i++) {
      const schema = schemas[(this.next + i) % schemas.length];
      if (!within()) {
        report.complete = false;
        this.next = (this.next + i) % schemas.length;
        break;
      }
      const done = await this.sweepTable(schema, report, within);
      if (!done) {
        report.complete = false;
        this.next = (this.next + i) % schemas.length;
        break;
      }
    }
    if (report.complete) this.next = 0;
    report.ms = performance.now() - started;
    this.deletedRows += report.deletedRows;
    this.lastReport = report;
    if (report.deletedRows > 0) {
      this.logger.info(`orphan sweep: deleted ${report.deletedRows} rows of ${report.orphanSeries} series without a resource link in ${Math.round(report.ms)} ms`);
    }
    return report;
  }

  /** Walks one table from its cursor; true when it reached the end (the cursor starts over). */
  private async sweepTable(schema: DataTypeSchema, report: SweepReport, within: () => boolean): Promise<boolean> {
    const table = `d$${schema.dataType}`;
    const owner = schema.owner;
    const links = quoteIdentifier(resourceLinkTable(owner));
    for (;;) {
      if (!within()) return false;
      const [fromOwner, fromRes] = this.cursors.get(table) ?? [-1, -1];
      const [series] = await this.pool.query<RowDataPacket[]>(
        `SELECT ${owner} AS o, res_id AS r FROM ${quoteIdentifier(table)} WHERE (${owner}, res_id) > (?, ?)
          GROUP BY ${owner}, res_id ORDER BY ${owner}, res_id LIMIT ${this.settings.seriesBatch}`,
        [fromOwner, fromRes],
      );
      if (series.length === 0) {
        this.cursors.delete(table);
        return true;
      }
      report.seriesScanned += series.length;
      const pairs = series.map((s) => [Number(s.o), Number(s.r)]);
      const [linked] = await this.pool.query<RowDataPacket[]>(
        `SELECT ${owner} AS o, res_id AS r FROM ${links} WHERE (${owner}, res_id) IN (${pairs.map(() => '(?, ?)').join(', ')})`,
        pairs.flat(),
      );
      const present = new Set(linked.map((l) => `${l.o}/${l.r}`));
      for (const [o, r] of pairs) {
        if (present.has(`${o}/${r}`)) continue;
        report.orphanSeries += 1;
        for (;;) {
          if (!within()) return false; // the cursor stays before this series: the next sweep finishes it
          const [result] = await this.pool.query<ResultSetHeader>(
            `DELETE FROM ${quoteIdentifier(table)} WHERE ${owner} = ? AND res_id = ? LIMIT ${this.settings.deleteBatch}`,
            [o, r],
          );
          report.deletedRows += result.affectedRows;
          if (result.affectedRows < this.settings.deleteBatch) break;
        }
        this.cursors.set(table, [o, r]);
      }
      this.cursors.set(table, pairs.at(-1) as [number, number]);
    }
  }
}
