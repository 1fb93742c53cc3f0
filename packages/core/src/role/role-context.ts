import { Queue } from 'bullmq';
import type { Logger } from '../logger.js';
import { RedisKeys } from '../keys.js';
import { Membership } from '../lease/membership.js';
import { createMysqlPool, createWriterSelector, type MysqlPoolOptions, type Pool } from '../mysql.js';
import type { MysqlWriterSelector } from '../mysql-writer.js';
import { createRedis, type Redis, type RedisClientOptions } from '../redis.js';
import { RedisMasterWatch } from '../redis-master-watch.js';
import type { RoleConnections } from '../config/connection-options.js';
import { CloseStack } from './close-stack.js';
import { LeaderLoop, type LeaderLoopOptions } from './leader-loop.js';
import { PeriodicTask, type PeriodicTaskOptions } from './periodic-task.js';
import { RoleState } from './role-state.js';
import type { ServiceState } from '../lifecycle.js';
import type { WatchedMetrics } from '../admin/metrics.js';
import { defaultNodeId } from '../lease/node-id.js';
import { DependencyOutages } from '../outage-tracker.js';
import { FailureReporter } from '../failure-reporter.js';

export interface MembershipSpec {
  /** Heartbeat period; a member missing three is gone. */
  intervalMs: number;
  /** Role-specific state on every heartbeat. */
  details?: () => Record<string, unknown>;
}

export interface RoleContextOptions {
  /** `coordinator`, `worker`, ...: names connections (CLIENT LIST), logs and membership. */
  role: string;
  connections: RoleConnections;
  logger: Logger;
  /** The process's identity in leases and membership (default: host, pid and a random part). */
  nodeId?: string;
  /** The process's Prometheus metrics, which the role updates; none in code that does not serve /metrics. */
  metrics?: WatchedMetrics;
  /** The process's outage trackers, shared by its roles (default: the context's own). */
  outages?: DependencyOutages;
  /**
   * The process's choice of MySQL writer, shared by its roles and its
   * readiness so they all write to one host (closed by its owner); default:
   * the role's own.
   */
  mysqlWriter?: MysqlWriterSelector;
}

/** The work only the leader does: every interval while it leads, and at once when it becomes leader. */
export interface LeaderWork {
  name: string;
  intervalMs: () => number;
  /** One run under the lease of `term`; may return its own next delay (0: go on at once). */
  run: (term: number) => Promise<number | void>;
}

export interface LeaderSpec extends Omit<LeaderLoopOptions, 'redis' | 'subscriber' | 'releasedChannel' | 'nodeId' | 'logger'> {
  work: LeaderWork;
}

/** A leader role's lease and the work it does under it. */
export interface Leadership {
  loop: LeaderLoop;
  work: PeriodicTask;
}

/**
 * What every role is made of besides its own work, by composition: its
 * connections, its lifecycle state, and a close stack of whatever it opened.
 * A role opens things through the context (`mysql`, `redis`, `queue`,
 * `membership`, `leader`, `task`, `adopt`), each registered for closing the
 * moment it exists, so a start that fails half-way closes exactly what it
 * had opened, and `close()` closes everything in reverse order, once.
 */
export class RoleContext {
  readonly role: string;
  readonly connections: RoleConnections;
  readonly logger: Logger;
  readonly nodeId: string;
  readonly metrics?: WatchedMetrics;
  readonly keys: RedisKeys;
  readonly outages: DependencyOutages;
  /** Logs a failed operation, or counts it into its dependency's outage when it is one (see FailureReporter). */
  readonly failures: FailureReporter;
  private readonly state: RoleState;
  private readonly stack: CloseStack;
  private commandRedis?: Redis;
  private leaderLoop?: LeaderLoop;
  private member?: Membership;
  private writerSelector?: MysqlWriterSelector;
  private closing?: Promise<void>;

  constructor(options: RoleContextOptions) {
    this.role = options.role;
    this.connections = options.connections;
    this.logger = options.logger;
    this.nodeId = options.nodeId ?? defaultNodeId();
    this.metrics = options.metrics;
    this.writerSelector = options.mysqlWriter;
    this.keys = RedisKeys.of(options.connections.prefix, options.connections.redis);
    this.outages = options.outages ?? new DependencyOutages(options.logger);
    this.failures = new FailureReporter(options.logger, this.outages, options.connections);
    this.state = new RoleState(options.role, options.logger);
    this.stack = new CloseStack(options.logger);
  }

  get lifecycle(): ServiceState {
    return this.state.value;
  }

  get running(): boolean {
    return this.state.running;
  }

  /** Whether this role holds its lease now (leader roles; false before `leader()` and for the others). */
  get leading(): boolean {
    return this.leaderLoop?.isLeader ?? false;
  }

  /** The fencing term of the role's lease (0 when it never led). */
  get term(): number {
    return this.leaderLoop?.term ?? 0;
  }

  /**
   * A MySQL pool, ended when the role closes. Every pool of the role follows
   * one writer choice, so the role writes to one host of a multi-host URL.
   */
  mysql(options: MysqlPoolOptions): Pool {
    const pool = this.failures.watchPool(createMysqlPool(this.connections.mysql, { ...options, selector: this.mysqlWriter }));
    return this.stack.push('MySQL pool', pool, (p) => p.end());
  }

  /** The role's choice of MySQL writer (see MysqlWriterSelector), made on first use, stopped when the role closes. */
  get mysqlWriter(): MysqlWriterSelector {
    this.writerSelector ??= this.stack.push('MySQL writer selector', createWriterSelector(this.connections.mysql, this.logger), (s) => s.close());
    return this.writerSelector;
  }

  /**
   * The role's shared command connection (lease, membership, queues that
   * only add jobs), opened on first use. Blocking consumers get their own
   * through `openRedis`.
   */
  get redis(): Redis {
    this.commandRedis ??= this.openRedis('commands');
    return this.commandRedis;
  }

  /** A Redis connection of its own, named `watched-<role>-<purpose>@<nodeId>` in CLIENT LIST (which process holds it), quit when the role closes. */
  openRedis(purpose: string, options: Omit<RedisClientOptions, 'connectionName'> = {}): Redis {
    const redis = createRedis(this.connections.redis, {
      ...options,
      connectionName: `watched-${this.role}-${purpose}@${this.nodeId}`,
      outages: this.outages,
    });
    return this.stack.push(`Redis connection ${purpose}`, redis, (r) => r.quit().catch(() => r.disconnect()));
  }

  /** A BullMQ queue handle (producer side) under the installation's prefix, on the command connection. */
  queue<T = unknown>(name: string): Queue<T> {
    const queue = new Queue<T>(name, { connection: this.redis, prefix: this.keys.bullPrefix });
    (queue as Queue).on('error', (err: Error) => this.failures.report(`${name} queue`, err, 'error'));
    return this.stack.push(`${name} queue`, queue, (q) => q.close());
  }

  /** Registers this process in `watched status` until the role closes. */
  membership(spec: MembershipSpec): Membership {
    const redisMaster = new RedisMasterWatch(this.redis, this.keys.leaderLease);
    const membership = new Membership({
      redis: this.redis,
      keys: this.keys,
      role: this.role,
      nodeId: this.nodeId,
      intervalMs: spec.intervalMs,
      logger: this.logger,
      details: spec.details,
      onFailure: (what, err) => this.failures.report(what, err, 'warn'),
      redisMaster: () => redisMaster.view(),
      // Only once the role opened MySQL: a role without it (none today) publishes no writer.
      mysqlWriter: () => this.writerSelector?.status(),
    });
    membership.start();
    this.member = membership;
    return this.stack.push('membership', membership, (m) => m.stop());
  }

  /**
   * The one leader loop of every leader role: the lease on `spec.key` with
   * release announcements on their own subscriber connection, and the
   * leader's work as a periodic task that runs only while the lease is held,
   * at once on becoming leader. Every change of leadership updates the
   * leader metric and beats the membership. The work stops before the lease
   * is handed over (it was opened after it), so a run in progress ends first.
   */
  async leader(spec: LeaderSpec): Promise<Leadership> {
    const { work, onChange, ...leaseSpec } = spec;
    this.metrics?.setLeader(this.role, null);
    let task: PeriodicTask | undefined;
    const lease = new LeaderLoop({
      ...leaseSpec,
      redis: this.redis,
      subscriber: this.openRedis('lease-releases'),
      releasedChannel: this.keys.releasedChannel(spec.key),
      nodeId: this.nodeId,
      logger: this.logger,
      onChange: (leading, term) => {
        this.metrics?.setLeader(this.role, leading ? term : null);
        void this.member?.beat();
        onChange?.(leading, term);
        if (leading) task?.trigger();
      },
    });
    this.leaderLoop = this.stack.push('leader lease', lease, (l) => l.stop());
    await lease.start();
    task = this.task({
      name: work.name,
      intervalMs: work.intervalMs,
      // The first run finds out whether we lead; becoming leader later kicks it.
      firstDelayMs: 0,
      failureLevel: 'error',
      run: async () => (lease.isLeader && this.running ? work.run(lease.term) : undefined),
    });
    return { loop: lease, work: task };
  }

  /** A periodic task, started now and stopped (waiting for a run in progress) on close. */
  task(options: Omit<PeriodicTaskOptions, 'logger'>): PeriodicTask {
    const task = new PeriodicTask({
      ...options,
      logger: this.logger,
      onFailure: (err) => this.failures.report(options.name, err, options.failureLevel ?? 'warn'),
    });
    task.start();
    return this.stack.push(options.name, task, (t) => t.stop());
  }

  /** Anything else the role opened (an HTTP client, plugins, a consumer to drain): closed in its turn. */
  adopt<T>(name: string, resource: T, close: (resource: T) => unknown): T {
    return this.stack.push(name, resource, close);
  }

  /**
   * Runs the role's start-up; RUNNING when it succeeds. When it throws,
   * whatever it opened is closed, the state is FAILED, and the error goes on.
   */
  async start(startUp: () => Promise<void>): Promise<void> {
    this.state.expect('start', 'INITIALIZED');
    try {
      await startUp();
    } catch (err) {
      this.state.set('FAILED');
      this.closing = this.stack.close();
      await this.closing;
      throw err;
    }
    this.state.set('RUNNING');
    // The node id in the message too: pretty lines leave it out, and this is where a reader looks for it.
    this.logger.info(`${this.role} started (node ${this.nodeId})`);
  }

  /**
   * STOPPING, then `beforeClose` (a last heartbeat saying so), then the close
   * stack in reverse order of opening, then STOPPED. Idempotent.
   */
  close(beforeClose?: () => unknown): Promise<void> {
    this.closing ??= (async () => {
      if (this.state.value === 'RUNNING') {
        this.state.set('STOPPING');
        await beforeClose?.();
      }
      await this.stack.close();
      if (this.state.value !== 'FAILED') this.state.set('STOPPED');
    })();
    return this.closing;
  }
}
