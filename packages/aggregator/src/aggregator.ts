import {
  type Leadership,
  type Reloadable,
  type Service,
  type RoleContext,
} from '@watched/core';
import { rollupPassSettings, type AggregatorOptions } from './aggregator-options.js';
import { RollupPass, type RollupStats } from './rollup-pass.js';
import { FencedError } from './watermarks.js';

/** Forward chunks per data type and level in one pass: a catch-up of one type then takes turns with the others. */
const CHUNKS_PER_PASS = 60;

/**
 * The aggregator role. Every replica competes for the aggregator lease
 * (`<prefix>:aggregator:leader`, the kit's leader loop); the holder alone
 * runs rollup passes, every `aggregatorInterval` and at once when it becomes
 * active. The lease is renewed on its own timer (a catch-up pass may last
 * long) and the pass stops between statements as soon as the lease is no
 * longer valid; every write also checks the lease's term against the
 * watermark row (fencing).
 */
export class Aggregator implements Service, Reloadable<AggregatorOptions> {
  readonly name = 'aggregator';
  private leadership?: Leadership;
  private pass?: RollupPass;
  /** Counters already added to the metrics (the pass's own counters only grow). */
  private reported: RollupStats | undefined;

  /** `context` is this role's (`role: 'aggregator'`): its connections, logger, identity and metrics. */
  constructor(
    readonly context: RoleContext,
    private options: AggregatorOptions,
  ) {}

  /** Whether this replica holds the lease (and so does the work). */
  get isActive(): boolean {
    return this.context.running && this.context.leading;
  }

  get stats(): RollupStats | undefined {
    return this.pass?.stats;
  }

  start(): Promise<void> {
    return this.context.start(async () => {
      const { context: ctx, options: o } = this;
      const pool = ctx.mysql({ connectionLimit: 3 });
      const pass = new RollupPass(pool, rollupPassSettings(o, CHUNKS_PER_PASS), ctx.logger);
      this.pass = pass;
      ctx.membership({
        intervalMs: o.heartbeatIntervalMs,
        details: () => ({ active: this.isActive, term: ctx.term, passes: pass.stats.passes }),
      });
      this.leadership = await ctx.leader({
        key: ctx.keys.aggregatorLease,
        ttlMs: o.aggregatorLeaseTtlMs,
        termFloor: () => pass.maxTerm(),
        standbyRetryMs: () => Math.max(100, Math.floor(this.options.aggregatorLeaseTtlMs / 3)),
        onChange: (leading, term) => leading && ctx.logger.info('aggregator is active', { term }),
        work: { name: 'rollup pass', intervalMs: () => this.options.aggregatorIntervalMs, run: (term) => this.runPass(term) },
      });
    });
  }

  /** SIGHUP: the pass interval changes live (a waiting pass is rescheduled); the other options need a restart. */
  reload(options: AggregatorOptions): readonly string[] {
    const changed = options.aggregatorIntervalMs !== this.options.aggregatorIntervalMs;
    this.options = { ...this.options, aggregatorIntervalMs: options.aggregatorIntervalMs };
    if (changed) this.leadership?.work.reschedule();
    return ['aggregatorInterval'];
  }

  /** One pass while active; behind (catching up): the next pass starts at once, taking every type in turn. */
  private async runPass(term: number): Promise<number | void> {
    const lease = this.leadership!.loop;
    try {
      const { behind } = await this.pass!.run({
        now: Date.now(),
        term,
        active: () => this.context.running && lease.isLeader && lease.term === term,
      });
      this.reportProgress();
      return behind ? 0 : undefined;
    } catch (err) {
      if (!(err instanceof FencedError)) throw err;
      this.context.logger.warn(`stopping rollups: ${err.message}`);
      await lease.resign();
    }
  }

  /** Adds what the passes did since the last report to the metrics, and sets the lag per level. */
  private reportProgress(): void {
    const metrics = this.context.metrics;
    const stats = this.pass?.stats;
    if (!metrics || !stats) return;
    const before = this.reported;
    const delta = (key: 'passes' | 'bucketsWritten' | 'lateMinutes' | 'dirtyBuckets' | 'deletedRows') => stats[key] - (before?.[key] ?? 0);
    metrics.aggregatorPasses.inc(delta('passes'));
    metrics.aggregatorRowsRolledUp.inc(delta('bucketsWritten'));
    metrics.aggregatorRecomputedBuckets.inc({ reason: 'late' }, delta('lateMinutes'));
    metrics.aggregatorRecomputedBuckets.inc({ reason: 'dirty' }, delta('dirtyBuckets'));
    metrics.aggregatorDeletedRows.inc(delta('deletedRows'));
    if (stats.lastPassMs !== undefined) metrics.aggregatorPassDuration.observe(stats.lastPassMs / 1000);
    const worst = new Map<string, number>();
    for (const [table, lagMs] of Object.entries(stats.lagMs)) {
      const level = table.slice(0, table.indexOf('$'));
      worst.set(level, Math.max(worst.get(level) ?? 0, lagMs));
    }
    for (const [level, lagMs] of worst) metrics.aggregatorLag.set({ level }, lagMs / 1000);
    this.reported = stats;
  }

  /** Stops the passes (the current statement finishes), hands the lease over, closes connections. Idempotent. */
  close(): Promise<void> {
    return this.context.close();
  }
}
