import {
  createMysqlPool,
  createRedis,
  defaultNodeId,
  errorMessage,
  IllegalStateError,
  LeaderLease,
  RedisKeys,
  type Logger,
  type Pool,
  type Redis,
  type Reloadable,
  type Service,
  type ServiceState,
  type WatchedMetrics,
  type RoleConnections,
} from '@watched/core';
import { rollupPassSettings, type AggregatorOptions } from './aggregator-options.js';
import { RollupPass, type RollupStats } from './rollup-pass.js';
import { FencedError } from './watermarks.js';

/** Forward chunks per data type and level in one pass: a catch-up of one type then takes turns with the others. */
const CHUNKS_PER_PASS = 60;

export type AggregatorConnections = RoleConnections;

/**
 * The aggregator role. Every replica competes for the aggregator lease
 * (`<prefix>:aggregator:leader`); the holder alone runs rollup passes,
 * every `aggregatorInterval` and at once when it becomes active. The lease
 * is renewed on its own timer (a catch-up pass may last long) and the pass
 * stops between statements as soon as the lease is no longer valid; every
 * write also checks the lease's term against the watermark row (fencing).
 */
export class Aggregator implements Service, Reloadable<AggregatorOptions> {
  readonly name = 'aggregator';
  readonly nodeId: string;
  private state: ServiceState = 'INITIALIZED';
  private pool?: Pool;
  private redis?: Redis;
  private lease?: LeaderLease;
  private pass?: RollupPass;
  private leaseTimer?: NodeJS.Timeout;
  private passTimer?: NodeJS.Timeout;
  private leaseRefresh?: Promise<void>;
  private running?: Promise<void>;
  private closing?: Promise<void>;
  /** Counters already added to the metrics (the pass's own counters only grow). */
  private reported: RollupStats | undefined;

  /** Prometheus metrics to update (leader gauge, passes, rows rolled up, lag per level); set before start. */
  metrics?: WatchedMetrics;

  constructor(
    private readonly connections: AggregatorConnections,
    private options: AggregatorOptions,
    private readonly logger: Logger,
    nodeId = defaultNodeId(),
  ) {
    this.nodeId = nodeId;
  }

  /** Whether this replica holds the lease (and so does the work). */
  get isActive(): boolean {
    return this.state === 'RUNNING' && (this.lease?.isLeader() ?? false);
  }

  get term(): number {
    return this.lease?.term ?? 0;
  }

  get stats(): RollupStats | undefined {
    return this.pass?.stats;
  }

  async start(): Promise<void> {
    if (this.state !== 'INITIALIZED') throw new IllegalStateError(`aggregator cannot start from ${this.state}`);
    const o = this.options;
    this.pool = createMysqlPool(this.connections.mysql, { connectionLimit: 3 });
    this.redis = createRedis(this.connections.redis, { connectionName: 'watched-aggregator' });
    this.pass = new RollupPass(this.pool, rollupPassSettings(o, CHUNKS_PER_PASS), this.logger);
    const pass = this.pass;
    this.lease = new LeaderLease({
      redis: this.redis,
      key: new RedisKeys(this.connections.prefix).aggregatorLease,
      nodeId: this.nodeId,
      ttlMs: o.aggregatorLeaseTtlMs,
      logger: this.logger,
      termFloor: () => pass.maxTerm(),
    });
    this.state = 'RUNNING';
    this.metrics?.setLeader('aggregator', null);
    this.scheduleLease(0);
    this.logger.info('aggregator started', { nodeId: this.nodeId });
  }

  /** SIGHUP: the pass interval changes live (a waiting pass is rescheduled); the other options need a restart. */
  reload(options: AggregatorOptions): readonly string[] {
    const changed = options.aggregatorIntervalMs !== this.options.aggregatorIntervalMs;
    this.options = { ...this.options, aggregatorIntervalMs: options.aggregatorIntervalMs };
    if (changed && this.passTimer && !this.running && this.lease?.isLeader()) this.schedulePass(options.aggregatorIntervalMs);
    return ['aggregatorInterval'];
  }

  /** Renews (or tries to take) the lease every third of its TTL, independently of passes. */
  private scheduleLease(delayMs: number): void {
    if (this.state !== 'RUNNING') return;
    this.leaseTimer = setTimeout(() => {
      this.leaseRefresh = (async () => {
        const wasActive = this.lease!.isLeader();
        const active = await this.lease!.refresh();
        this.metrics?.setLeader('aggregator', active ? this.lease!.term : null);
        if (active && !wasActive && this.state === 'RUNNING') {
          this.logger.info('aggregator is active', { term: this.lease!.term });
          this.schedulePass(0);
        }
      })()
        .catch((err: unknown) => {
          this.logger.error(`aggregator lease refresh failed: ${errorMessage(err)}`);
        })
        .finally(() => this.scheduleLease(Math.max(100, Math.floor(this.options.aggregatorLeaseTtlMs / 3))));
    }, delayMs);
  }

  private schedulePass(delayMs: number): void {
    if (this.state !== 'RUNNING' || this.running) return;
    clearTimeout(this.passTimer);
    this.passTimer = setTimeout(() => {
      this.running = this.runPass().then((behind) => {
        this.running = undefined;
        // Behind (catching up): the next pass starts at once, taking every type in turn.
        if (this.lease?.isLeader()) this.schedulePass(behind ? 0 : this.options.aggregatorIntervalMs);
      });
    }, delayMs);
  }

  private async runPass(): Promise<boolean> {
    const lease = this.lease!;
    if (!lease.isLeader() || this.state !== 'RUNNING') return false;
    const term = lease.term;
    try {
      const { behind } = await this.pass!.run({
        now: Date.now(),
        term,
        active: () => this.state === 'RUNNING' && lease.isLeader() && lease.term === term,
      });
      this.reportProgress();
      return behind;
    } catch (err) {
      if (err instanceof FencedError) {
        this.logger.warn(`stopping rollups: ${err.message}`);
        await lease.release();
      } else {
        this.logger.error(`rollup pass failed: ${errorMessage(err)}`);
      }
      return false;
    }
  }

  /** Adds what the passes did since the last report to the metrics, and sets the lag per level. */
  private reportProgress(): void {
    const metrics = this.metrics;
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

  /** Stops the timers, lets the current statement finish, hands the lease over, closes connections. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.state === 'INITIALIZED') {
        this.state = 'STOPPED';
        return;
      }
      this.state = 'STOPPING';
      clearTimeout(this.leaseTimer);
      clearTimeout(this.passTimer);
      await this.leaseRefresh?.catch(() => undefined);
      await this.running?.catch(() => undefined);
      await this.lease?.release();
      this.metrics?.setLeader('aggregator', null);
      await this.redis?.quit().catch(() => undefined);
      await this.pool?.end().catch(() => undefined);
      this.state = 'STOPPED';
    })();
    return this.closing;
  }
}
