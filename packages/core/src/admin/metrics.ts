import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Outcome label of `watched_polls_total` and `watched_poll_duration_seconds`. */
export type PollOutcome = 'ok' | 'failed';

/**
 * The metrics the roles update, on one registry per process (so `watched up`
 * and tests can hold several without clashing with prom-client's global one).
 * Every name starts with `watched_`; Node process metrics come with it.
 */
export class WatchedMetrics {
  readonly registry: Registry;
  /** Agent polls by outcome (worker). */
  readonly pollsTotal: Counter<'outcome'>;
  /** Rows written by kind: `data` (d$), `status` (s$history, s$process, s$sockets), `logs`, `events` (worker). */
  readonly rowsWritten: Counter<'kind'>;
  /** Duration of one agent poll (fetch + store), by outcome (worker). */
  readonly pollDuration: Histogram<'outcome'>;
  /** Poll jobs that failed (and will be retried by BullMQ or are given up), by group (worker). */
  readonly jobsFailed: Counter<'group'>;
  /** Agents whose poll failed in the group's latest job this process ran (worker, after each job). */
  readonly groupFailedAgents: Gauge<'group'>;
  /** Agents in this worker's slow lane now: timed out before, queued or being polled outside the jobs (worker). */
  readonly slowLaneAgents: Gauge;
  /** Slow-lane polls by outcome: `answered` (stored), `failed` (timed out again or refused, backed off) (worker). */
  readonly slowLanePolls: Counter<'outcome'>;
  /** 1 while this process holds the lease of the role, else 0 (coordinator, aggregator). */
  readonly leader: Gauge<'role'>;
  /** Term of the lease this process holds (0 when not leading) (coordinator, aggregator). */
  readonly leaderTerm: Gauge<'role'>;
  /** Slots not enqueued because the group's previous job was still waiting or running (coordinator). */
  readonly schedulerSkippedSlots: Counter;
  /** Jobs of the poll queue by state: `waiting`, `delayed`, `active` (coordinator leader, sampled each tick). */
  readonly queueDepth: Gauge<'state'>;
  /** Rollup passes run by the active aggregator. */
  readonly aggregatorPasses: Counter;
  /** Duration of one rollup pass (aggregator). */
  readonly aggregatorPassDuration: Histogram;
  /** Rows written to am$/ah$/ad$ (one per bucket, forward or recomputed) (aggregator). */
  readonly aggregatorRowsRolledUp: Counter;
  /** Buckets recomputed: `late` (raw rows arrived after the minute was rolled up), `dirty` (a finer level changed) (aggregator). */
  readonly aggregatorRecomputedBuckets: Counter<'reason'>;
  /** Rows removed by retention (aggregator). */
  readonly aggregatorDeletedRows: Counter;
  /** How far the watermark of a level is behind now, the worst data type (aggregator, set after each pass). */
  readonly aggregatorLag: Gauge<'level'>;
  /** Event transitions delivered (accepted by the plugin), by plugin (alerter). */
  readonly alertsSent: Counter<'plugin'>;
  /** Event transitions given up after the delivery's last attempt (`failed_at` set), by plugin (alerter). */
  readonly alertsFailed: Counter<'plugin'>;
  /** How far each group's latest enqueued slot is behind the slot due now (coordinator leader, each tick). */
  readonly groupLag: Gauge<'group'>;
  /** Discovered agents (not retired) each source lists, after the leader's last discovery pass (coordinator leader). */
  readonly discoveryAgents: Gauge<'source' | 'kind'>;
  /** Agents discovery added to c$agents, or revived after a retirement (coordinator leader). */
  readonly discoveryAdded: Counter;
  /** Agents discovery retired: every source dropped them for longer than the grace period (coordinator leader). */
  readonly discoveryRetired: Counter;
  /** Failed reads of a discovery source (its previous listing kept), by source (coordinator leader). */
  readonly discoverySourceErrors: Counter<'source' | 'kind'>;

  constructor(options: { registry?: Registry; defaultMetrics?: boolean; labels?: Record<string, string> } = {}) {
    const registers = [(this.registry = options.registry ?? new Registry())];
    if (options.labels) this.registry.setDefaultLabels(options.labels);
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.pollsTotal = new Counter({ name: 'watched_polls_total', help: 'Agent polls by outcome', labelNames: ['outcome'], registers });
    this.rowsWritten = new Counter({ name: 'watched_rows_written_total', help: 'Rows written to MySQL by kind', labelNames: ['kind'], registers });
    this.pollDuration = new Histogram({
      name: 'watched_poll_duration_seconds',
      help: 'Duration of one agent poll (fetch and store) by outcome',
      labelNames: ['outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.jobsFailed = new Counter({ name: 'watched_jobs_failed_total', help: 'Poll jobs that failed (retried with backoff), by group', labelNames: ['group'], registers });
    this.groupFailedAgents = new Gauge({
      name: 'watched_group_failed_agents',
      help: "Agents whose poll failed in the group's latest job run by this worker",
      labelNames: ['group'],
      registers,
    });
    this.slowLaneAgents = new Gauge({ name: 'watched_slow_lane_agents', help: "Agents in this worker's slow lane (timed out before, polled outside the jobs)", registers });
    this.slowLanePolls = new Counter({ name: 'watched_slow_lane_polls_total', help: 'Slow-lane polls by outcome (answered, failed)', labelNames: ['outcome'], registers });
    this.leader = new Gauge({ name: 'watched_leader', help: '1 while this process holds the lease of the role', labelNames: ['role'], registers });
    this.leaderTerm = new Gauge({ name: 'watched_leader_term', help: 'Term of the lease held (0: not leading)', labelNames: ['role'], registers });
    this.schedulerSkippedSlots = new Counter({
      name: 'watched_scheduler_skipped_slots_total',
      help: "Slots skipped because the group's previous job was still waiting or running",
      registers,
    });
    this.queueDepth = new Gauge({ name: 'watched_queue_depth', help: 'Jobs of the poll queue by state', labelNames: ['state'], registers });
    this.aggregatorPasses = new Counter({ name: 'watched_aggregator_passes_total', help: 'Rollup passes run by the active aggregator', registers });
    this.aggregatorPassDuration = new Histogram({
      name: 'watched_aggregator_pass_duration_seconds',
      help: 'Duration of one rollup pass',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.aggregatorRowsRolledUp = new Counter({
      name: 'watched_aggregator_rows_rolled_up_total',
      help: 'Rows written to the am$/ah$/ad$ rollup tables (one per bucket, forward or recomputed)',
      registers,
    });
    this.aggregatorRecomputedBuckets = new Counter({
      name: 'watched_aggregator_recomputed_buckets_total',
      help: 'Buckets recomputed: late (raw rows after the minute was rolled up) or dirty (a finer level changed)',
      labelNames: ['reason'],
      registers,
    });
    this.aggregatorDeletedRows = new Counter({ name: 'watched_aggregator_deleted_rows_total', help: 'Rows removed by retention', registers });
    this.aggregatorLag = new Gauge({
      name: 'watched_aggregator_lag_seconds',
      help: 'How far the rollup watermark of a level (am, ah, ad) is behind now, worst data type',
      labelNames: ['level'],
      registers,
    });
    this.alertsSent = new Counter({ name: 'watched_alerts_sent_total', help: 'Event transitions delivered by plugin', labelNames: ['plugin'], registers });
    this.alertsFailed = new Counter({
      name: 'watched_alerts_failed_total',
      help: 'Event transitions given up after the last delivery attempt, by plugin',
      labelNames: ['plugin'],
      registers,
    });
    this.groupLag = new Gauge({
      name: 'watched_group_lag_seconds',
      help: "How far a poll group's latest enqueued slot is behind the slot due now",
      labelNames: ['group'],
      registers,
    });
    this.discoveryAgents = new Gauge({
      name: 'watched_discovery_agents',
      help: 'Discovered agents (not retired) listed by each discovery source, after the last pass',
      labelNames: ['source', 'kind'],
      registers,
    });
    this.discoveryAdded = new Counter({ name: 'watched_discovery_added_total', help: 'Agents added to c$agents (or revived) by discovery', registers });
    this.discoveryRetired = new Counter({ name: 'watched_discovery_retired_total', help: 'Agents retired by discovery (dropped by every source past the grace period)', registers });
    this.discoverySourceErrors = new Counter({
      name: 'watched_discovery_source_errors_total',
      help: 'Failed reads of a discovery source (its previous listing kept)',
      labelNames: ['source', 'kind'],
      registers,
    });
  }

  /** Records one agent poll: count and duration. */
  observePoll(outcome: PollOutcome, seconds: number): void {
    this.pollsTotal.inc({ outcome });
    this.pollDuration.observe({ outcome }, seconds);
  }

  /** Sets the leader gauges of a role (`coordinator` or `aggregator`). */
  setLeader(role: string, term: number | null): void {
    this.leader.set({ role }, term === null ? 0 : 1);
    this.leaderTerm.set({ role }, term ?? 0);
  }

  /** The Prometheus text exposition of the registry. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}
