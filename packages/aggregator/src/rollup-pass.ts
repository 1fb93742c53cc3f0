import { DAY_MS, DEFAULT_PARTITION_SPAN_MS, DEFAULT_PARTITIONS_AHEAD, errorMessage, HOUR_MS, levelTableName, MINUTE_MS, type Logger, type Pool } from '@watched/core';
import { AggregateConfig, type DelayOverrides } from './aggregate-config.js';
import { OrphanSweep, type SweepReport } from './orphan-sweep.js';
import { DataPartitions, type PartitionDrop, type PartitionSettings } from './partitions.js';
import { Retention } from './retention.js';
import { Rollup, type PassContext, type RollupCounters } from './rollup.js';
import { RollupTables, type DataTypeSchema } from './rollup-tables.js';
import { FencedError, Watermarks } from './watermarks.js';

export interface RollupPassSettings {
  chunk: { am: number; ah: number; ad: number };
  lateWindow: number;
  /** Late-row checks of one type are at least this far apart (0: every pass). */
  lateCheckInterval: number;
  deleteBatch: number;
  delays?: DelayOverrides;
  /** Overrides c$aggregate_config 'default'.retention_d (ms). */
  rawRetention?: number;
  /** Time partitions of d$ tables (default: 1-day spans, 3 ahead). */
  partitions?: PartitionSettings;
  /** The orphan sweep of partitioned d$ tables: at most every `interval` ms, `budget` ms each (default 5 min, 5 s). */
  orphanSweep?: { interval: number; budget: number };
  /**
   * Forward chunks per data type and level in one pass (default: no limit).
   * The role sets one so that a long catch-up of one type does not hold the
   * others back: the pass moves on and the next one starts at once.
   */
  chunksPerPass?: number;
}

/** The retention work of one pass, over every data type. */
export interface RetentionPassReport {
  ms: number;
  rows: number;
}

export interface RollupStats extends RollupCounters {
  passes: number;
  /** Rows removed by retention (deleted or in dropped partitions) and by the orphan sweep. */
  deletedRows: number;
  droppedPartitions: number;
  addedPartitions: number;
  orphanRowsDeleted: number;
  /** The last passes' retention (up to 100), the last partition drops, the last orphan sweep. */
  retentionPasses: RetentionPassReport[];
  partitionDrops: PartitionDrop[];
  lastOrphanSweep?: SweepReport;
  /** How far each rollup table is behind `now` (ms), keyed by table name. */
  lagMs: Record<string, number>;
  lastPassMs?: number;
}

/**
 * One aggregation pass over every data type: bring the rollup tables up to
 * the d$ schema, repair late rows, roll each level forward, recompute dirty
 * parents, apply retention. The role runs it on a timer while it holds the
 * lease; tests run it with a fixed clock.
 */
export class RollupPass {
  private readonly tables: RollupTables;
  private readonly watermarks: Watermarks;
  private readonly rollup: Rollup;
  private readonly retention: Retention;
  private readonly partitions: DataPartitions;
  private readonly orphans: OrphanSweep;
  private lastSweep?: number;
  private readonly retentionPasses: RetentionPassReport[] = [];
  private readonly lastLateCheck = new Map<string, number>();
  private passes = 0;
  private lastPassMs?: number;
  private readonly lagMs: Record<string, number> = {};

  constructor(
    private readonly pool: Pool,
    private readonly settings: RollupPassSettings,
    private readonly logger: Logger,
  ) {
    this.tables = new RollupTables(pool, logger);
    this.watermarks = new Watermarks(pool);
    const chunk = {
      am: Math.max(MINUTE_MS, Math.floor(settings.chunk.am / MINUTE_MS) * MINUTE_MS),
      ah: Math.max(HOUR_MS, Math.floor(settings.chunk.ah / HOUR_MS) * HOUR_MS),
      ad: Math.max(DAY_MS, Math.floor(settings.chunk.ad / DAY_MS) * DAY_MS),
    };
    this.rollup = new Rollup(pool, this.watermarks, { chunk, lateWindow: settings.lateWindow }, logger);
    this.partitions = new DataPartitions(pool, settings.partitions ?? { spanMs: DEFAULT_PARTITION_SPAN_MS, ahead: DEFAULT_PARTITIONS_AHEAD }, logger);
    this.retention = new Retention(pool, this.watermarks, settings.deleteBatch, logger, this.partitions);
    this.orphans = new OrphanSweep(
      pool,
      { budgetMs: settings.orphanSweep?.budget ?? 5000, deleteBatch: settings.deleteBatch, seriesBatch: 1000 },
      logger,
    );
  }

  get stats(): RollupStats {
    return {
      ...this.rollup.counters,
      passes: this.passes,
      deletedRows: this.retention.deletedRows + this.orphans.deletedRows,
      droppedPartitions: this.partitions.droppedPartitions,
      addedPartitions: this.partitions.addedPartitions,
      orphanRowsDeleted: this.orphans.deletedRows,
      retentionPasses: [...this.retentionPasses],
      partitionDrops: [...this.partitions.drops],
      lastOrphanSweep: this.orphans.lastReport,
      lagMs: { ...this.lagMs },
      lastPassMs: this.lastPassMs,
    };
  }

  /** The highest term recorded in MySQL (the lease's term floor). */
  maxTerm(): Promise<number> {
    return this.watermarks.maxTerm();
  }

  /**
   * Runs one pass. A failure of one data type is logged and the others go
   * on; a FencedError (a newer term wrote) ends the pass and is rethrown.
   * Resolves to whether complete buckets are left behind (run again soon).
   */
  async run(ctx: PassContext): Promise<{ behind: boolean }> {
    const started = performance.now();
    let behind = false;
    const { schemas, widened } = await this.tables.ensure();
    const config = await AggregateConfig.load(this.pool, this.settings.delays, this.settings.rawRetention);
    await this.partitions.refresh();
    await this.partitions.ensureAheadAll(schemas.map((s) => levelTableName('d', s.dataType)), ctx.now);
    await this.sweepOrphans(schemas, ctx);
    const retention: RetentionPassReport = { ms: 0, rows: 0 };
    for (const schema of schemas) {
      if (!ctx.active()) break;
      const type = schema.dataType;
      const typeConfig = config.for(type);
      try {
        const lastCheck = this.lastLateCheck.get(type);
        if (widened.has(type)) {
          await this.rollup.repairLateRows(schema, ctx, true);
        } else if (lastCheck === undefined || ctx.now - lastCheck >= this.settings.lateCheckInterval) {
          await this.rollup.repairLateRows(schema, ctx);
          this.lastLateCheck.set(type, ctx.now);
        }
        for (const level of ['am', 'ah', 'ad'] as const) {
          if (!ctx.active()) break;
          await this.rollup.processDirty(schema, level, ctx);
          const result = await this.rollup.forward(schema, level, typeConfig.delay[level], ctx, this.settings.chunksPerPass);
          if (result.mark !== undefined) this.lagMs[levelTableName(level, type)] = ctx.now - result.mark;
          behind ||= result.behind;
        }
        if (ctx.active()) {
          const t = performance.now();
          retention.rows += await this.retention.apply(type, typeConfig, ctx);
          retention.ms += performance.now() - t;
        }
      } catch (err) {
        if (err instanceof FencedError) throw err;
        this.logger.error(`rollup of ${type} failed: ${errorMessage(err)}`);
      }
    }
    this.retentionPasses.push(retention);
    if (this.retentionPasses.length > 100) this.retentionPasses.shift();
    this.passes += 1;
    this.lastPassMs = performance.now() - started;
    return { behind };
  }

  /** The orphan sweep of the partitioned d$ tables, at most every `orphanSweep.interval` (clock of the pass). */
  private async sweepOrphans(schemas: DataTypeSchema[], ctx: PassContext): Promise<void> {
    const interval = this.settings.orphanSweep?.interval ?? 5 * MINUTE_MS;
    if (this.lastSweep !== undefined && ctx.now - this.lastSweep < interval) return;
    const partitioned = schemas.filter((s) => this.partitions.isPartitioned(levelTableName('d', s.dataType)));
    if (partitioned.length === 0) return;
    try {
      const report = await this.orphans.run(partitioned, ctx.active);
      // An unfinished sweep (budget spent) goes on at the next pass.
      if (report.complete) this.lastSweep = ctx.now;
    } catch (err) {
      this.logger.error(`orphan sweep failed: ${errorMessage(err)}`);
    }
  }
}
