import { DAY_MS, errorMessage, HOUR_MS, levelTableName, MINUTE_MS, type Logger, type Pool } from '@watched/core';
import { AggregateConfig, type DelayOverrides } from './aggregate-config.js';
import { Retention } from './retention.js';
import { Rollup, type PassContext, type RollupCounters } from './rollup.js';
import { RollupTables } from './rollup-tables.js';
import { FencedError, Watermarks } from './watermarks.js';

export interface RollupPassSettings {
  chunk: { am: number; ah: number; ad: number };
  lateWindow: number;
  /** Late-row checks of one type are at least this far apart (0: every pass). */
  lateCheckInterval: number;
  deleteBatch: number;
  delays?: DelayOverrides;
  /**
   * Forward chunks per data type and level in one pass (default: no limit).
   * The role sets one so that a long catch-up of one type does not hold the
   * others back: the pass moves on and the next one starts at once.
   */
  chunksPerPass?: number;
}

export interface RollupStats extends RollupCounters {
  passes: number;
  deletedRows: number;
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
    this.retention = new Retention(pool, this.watermarks, settings.deleteBatch, logger);
  }

  get stats(): RollupStats {
    return {
      ...this.rollup.counters,
      passes: this.passes,
      deletedRows: this.retention.deletedRows,
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
    const config = await AggregateConfig.load(this.pool, this.settings.delays);
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
        if (ctx.active()) await this.retention.apply(type, typeConfig, ctx);
      } catch (err) {
        if (err instanceof FencedError) throw err;
        this.logger.error(`rollup of ${type} failed: ${errorMessage(err)}`);
      }
    }
    this.passes += 1;
    this.lastPassMs = performance.now() - started;
    return { behind };
  }
}
