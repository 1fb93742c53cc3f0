import { Queue } from 'bullmq';
import type { Logger } from '../logger.js';
import { RedisKeys } from '../keys.js';
import { Membership } from '../lease/membership.js';
import { createMysqlPool, type MysqlPoolOptions, type Pool } from '../mysql.js';
import { createRedis, type Redis, type RedisClientOptions } from '../redis.js';
import type { RoleConnections } from '../config/connection-options.js';
import { CloseStack } from './close-stack.js';
import { LeaderLoop, type LeaderLoopOptions } from './leader-loop.js';
import { PeriodicTask, type PeriodicTaskOptions } from './periodic-task.js';
import { RoleState } from './role-state.js';
import type { ServiceState } from '../lifecycle.js';

export interface MembershipSpec {
  /** Heartbeat period; a member missing three is gone. */
  intervalMs: number;
  /** Role-specific state on every heartbeat. */
  details?: () => Record<string, unknown>;
}

export type LeaderSpec = Omit<LeaderLoopOptions, 'redis' | 'subscriber' | 'releasedChannel' | 'nodeId' | 'logger'>;

/**
 * What every role is made of besides its own work, by composition: its
 * connections, its lifecycle state, and a close stack of whatever it opened.
 * A role opens things through the context (`mysql`, `redis`, `queue`,
 * `membership`, `leader`, `task`, `adopt`), each registered for closing the
 * moment it exists, so a start that fails half-way closes exactly what it
 * had opened, and `close()` closes everything in reverse order, once.
 */
export class RoleContext {
  readonly keys: RedisKeys;
  private readonly state: RoleState;
  private readonly stack: CloseStack;
  private commandRedis?: Redis;
  private closing?: Promise<void>;

  constructor(
    /** `coordinator`, `worker`, ...: names connections (CLIENT LIST), logs and membership. */
    readonly role: string,
    readonly connections: RoleConnections,
    readonly logger: Logger,
    readonly nodeId: string,
  ) {
    this.keys = new RedisKeys(connections.prefix);
    this.state = new RoleState(role, logger);
    this.stack = new CloseStack(logger);
  }

  get lifecycle(): ServiceState {
    return this.state.value;
  }

  get running(): boolean {
    return this.state.running;
  }

  /** A MySQL pool, ended when the role closes. */
  mysql(options: MysqlPoolOptions): Pool {
    return this.stack.push('MySQL pool', createMysqlPool(this.connections.mysql, options), (pool) => pool.end());
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
    const redis = createRedis(this.connections.redis, { ...options, connectionName: `watched-${this.role}-${purpose}@${this.nodeId}` });
    redis.on('error', (err: Error) => this.logger.debug(`redis (${purpose}): ${err.message}`));
    return this.stack.push(`Redis connection ${purpose}`, redis, (r) => r.quit().catch(() => r.disconnect()));
  }

  /** A BullMQ queue handle (producer side) under the installation's prefix, on the command connection. */
  queue<T = unknown>(name: string): Queue<T> {
    const queue = new Queue<T>(name, { connection: this.redis, prefix: this.keys.bullPrefix });
    (queue as Queue).on('error', (err: Error) => this.logger.error(`${name} queue error: ${err.message}`));
    return this.stack.push(`${name} queue`, queue, (q) => q.close());
  }

  /** Registers this process in `watched status` until the role closes. */
  membership(spec: MembershipSpec): Membership {
    const membership = new Membership({
      redis: this.redis,
      prefix: this.keys.prefix,
      role: this.role,
      nodeId: this.nodeId,
      intervalMs: spec.intervalMs,
      logger: this.logger,
      details: spec.details,
    });
    membership.start();
    return this.stack.push('membership', membership, (m) => m.stop());
  }

  /** The leader loop on `spec.key`, with release announcements on their own subscriber connection; started, stopped on close. */
  async leader(spec: LeaderSpec): Promise<LeaderLoop> {
    const loop = new LeaderLoop({
      ...spec,
      redis: this.redis,
      subscriber: this.openRedis('lease-releases'),
      releasedChannel: this.keys.releasedChannel(spec.key),
      nodeId: this.nodeId,
      logger: this.logger,
    });
    this.stack.push('leader lease', loop, (l) => l.stop());
    await loop.start();
    return loop;
  }

  /** A periodic task, started now and stopped (waiting for a run in progress) on close. */
  task(options: Omit<PeriodicTaskOptions, 'logger'>): PeriodicTask {
    const task = new PeriodicTask({ ...options, logger: this.logger });
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
