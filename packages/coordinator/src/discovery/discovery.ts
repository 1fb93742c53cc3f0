import { type Logger, type Pool, type WatchedMetrics } from '@watched/core';
import { AgentRegistrations } from './agent-registrations.js';
import type { AgentSource } from './agent-source.js';
import type { DiscoveryOptions } from './discovery-options.js';
import { DiscoveryReconciler, type DesiredAgent, type ReconcileResult } from './discovery-reconciler.js';
import { DnsAddressSource, dnsResolver, DnsSrvSource } from './dns-source.js';
import { FileSource } from './file-source.js';
import { HttpSource } from './http-source.js';

/** What `watched status` shows of discovery (published with the coordinator's heartbeat). */
export interface DiscoveryStats {
  sources: Array<{ name: string; agents: number | null; error?: string }>;
  /** Discovered agents not retired, and retired ones, after the last pass. */
  active: number;
  retired: number;
  /** Listed by a source but registered by hand or the front (left alone). */
  manual: number;
  added: number;
  retiredTotal: number;
  lastPassAt: number | null;
  lastPassMs: number | null;
}

/** The leader's view of its lease at a pass: its term, and whether it still holds it on its own clock. */
export interface DiscoveryLease {
  readonly term: number;
  isLeader(): boolean;
}

function sameSources(a: DiscoveryOptions, b: DiscoveryOptions): boolean {
  const { intervalMs: _a, graceMs: _b, defaultPollIntervalS: _c, ...left } = a;
  const { intervalMs: _d, graceMs: _e, defaultPollIntervalS: _f, ...right } = b;
  return JSON.stringify(left) === JSON.stringify(right);
}

/**
 * Agent discovery: the configured sources, and a pass (the leader's, every
 * `intervalMs`, at once after a watched file changed or a SIGHUP) that
 * re-reads them and reconciles the merged listing into `c$agents`
 * (DiscoveryReconciler). Every replica builds its sources; only the leader
 * runs passes. `reload` takes new options live: sources changed are rebuilt.
 */
export class Discovery {
  readonly registrations: AgentRegistrations;
  private readonly reconciler: DiscoveryReconciler;
  private sources: AgentSource[] = [];
  private options: DiscoveryOptions;
  private last?: ReconcileResult;
  private lastPassAt: number | null = null;
  private lastPassMs: number | null = null;
  private added = 0;
  private retiredCount = 0;
  private closed = false;
  /** Failed reads of each source already counted in the metric. */
  private readonly reportedErrors = new WeakMap<AgentSource, number>();

  constructor(
    pool: Pool,
    leaseName: string,
    options: DiscoveryOptions,
    private readonly logger: Logger,
    private readonly metrics: WatchedMetrics | undefined,
    /** Asks for a pass soon (the coordinator triggers its discovery task). */
    private readonly wake: () => void,
  ) {
    this.registrations = new AgentRegistrations(pool);
    this.reconciler = new DiscoveryReconciler(pool, leaseName);
    this.options = options;
    this.sources = this.build(options);
  }

  get intervalMs(): number {
    return this.options.intervalMs;
  }

  /** Whether `POST /api/agents` is served. */
  get httpEnabled(): boolean {
    return this.options.http;
  }

  /** Whether any source is configured (without one, a pass still retires what earlier sources discovered). */
  get configured(): boolean {
    return this.sources.length > 0;
  }

  get stats(): DiscoveryStats {
    return {
      sources: this.sources.map((s) => ({ name: s.name, agents: s.listing?.size ?? null, ...(s.error ? { error: s.error } : {}) })),
      active: this.last?.active ?? 0,
      retired: this.last?.retiredTotal ?? 0,
      manual: this.last?.manual ?? 0,
      added: this.added,
      retiredTotal: this.retiredCount,
      lastPassAt: this.lastPassAt,
      lastPassMs: this.lastPassMs,
    };
  }

  /** New options (SIGHUP): interval, grace and default frequency at once; changed sources are rebuilt and read at the next pass. */
  reload(options: DiscoveryOptions): void {
    const rebuild = !sameSources(this.options, options);
    this.options = options;
    if (rebuild && !this.closed) {
      for (const source of this.sources) source.close();
      this.sources = this.build(options);
      this.logger.info(`discovery sources now: ${this.sources.map((s) => s.name).join(', ') || 'none'}`);
    }
    this.wake();
  }

  /**
   * One pass: re-reads every source (in parallel; a failed one keeps its
   * previous listing), merges them (the first source listing an agent
   * decides its settings) and reconciles under the lease's term.
   */
  async pass(lease: DiscoveryLease, now = Date.now()): Promise<ReconcileResult> {
    const started = performance.now();
    await Promise.all(this.sources.map((s) => s.refresh()));
    const desired = new Map<string, DesiredAgent>();
    const unknown = new Set<string>();
    for (const source of this.sources) {
      if (!source.listing) {
        unknown.add(source.name);
        continue;
      }
      for (const [key, agent] of source.listing) {
        const known = desired.get(key);
        if (known) known.sources.push(source.name);
        else
          desired.set(key, {
            host: agent.host,
            port: agent.port,
            pollIntervalS: agent.pollIntervalS ?? this.options.defaultPollIntervalS,
            useSsl: agent.useSsl ?? false,
            labels: agent.labels,
            sources: [source.name],
          });
      }
    }
    for (const agent of desired.values()) agent.sources.sort();
    const result = await this.reconciler.reconcile({ desired, unknown, now, term: lease.term, graceMs: this.options.graceMs, leading: () => lease.isLeader() });
    this.record(result, performance.now() - started, now);
    return result;
  }

  /** Stops the file watches. Idempotent. */
  close(): void {
    this.closed = true;
    for (const source of this.sources) source.close();
  }

  private record(result: ReconcileResult, ms: number, now: number): void {
    this.last = result;
    this.lastPassAt = now;
    this.lastPassMs = Math.round(ms);
    this.added += result.added + result.revived;
    this.retiredCount += result.retired;
    if (result.added || result.revived || result.retired || result.dropped) {
      this.logger.info(`discovery: ${result.added} added, ${result.revived} revived, ${result.dropped} dropped by every source, ${result.retired} retired (${Math.round(ms)} ms)`);
    }
    const m = this.metrics;
    if (!m) return;
    m.discoveryAdded.inc(result.added + result.revived);
    m.discoveryRetired.inc(result.retired);
    m.discoveryAgents.reset();
    for (const source of this.sources) m.discoveryAgents.set({ source: source.name, kind: source.kind }, result.bySource.get(source.name) ?? 0);
    for (const source of this.sources) {
      m.discoverySourceErrors.inc({ source: source.name, kind: source.kind }, source.errors - (this.reportedErrors.get(source) ?? 0));
      this.reportedErrors.set(source, source.errors);
    }
  }

  private build(options: DiscoveryOptions): AgentSource[] {
    const sources: AgentSource[] = [];
    for (const pattern of options.files) {
      const source = new FileSource(pattern, this.logger, () => this.wake());
      source.watch();
      sources.push(source);
    }
    if (options.dnsNames.length || options.srvNames.length) {
      const resolver = dnsResolver(options.dnsServers);
      for (const name of options.dnsNames) sources.push(new DnsAddressSource(name, resolver, this.logger));
      for (const name of options.srvNames) sources.push(new DnsSrvSource(name, resolver, this.logger));
    }
    if (options.http) sources.push(new HttpSource(this.registrations, this.logger));
    const names = new Set<string>();
    return sources.filter((s) => names.size !== names.add(s.name).size); // the same glob or name twice is one source
  }
}
