import { createHash } from 'node:crypto';
import { Queue, UnrecoverableError, Worker as BullWorker, type Job, type JobsOptions } from 'bullmq';
import {
  ConfigError,
  IllegalStateError,
  RedisKeys,
  createMysqlPool,
  createRedis,
  errorMessage,
  type Logger,
  type Pool,
  type Redis,
  type Reloadable,
  type Service,
  type ServiceState,
  type WatchedMetrics,
  type RoleConnections,
} from '@watched/core';
import { ALERTS_QUEUE, ALERT_EVENT_JOB, QueueEventSink } from '@watched/worker';
import type { AlerterOptions } from './alerter-options.js';
import { enrichEvent, monitoringEventSchema } from './enrich.js';
import {
  addReminder,
  claimDeliveries,
  failDeliveries,
  markSent,
  orphanReceivers,
  purgeLedger,
  recordEvent,
  repeatCandidates,
  stillOpen,
} from './ledger.js';
import type { AlertEvent, Notification } from './notification.js';
import { loadPluginModule, type AlertPlugin, type AlertSender } from './plugin.js';
import { emailPlugin } from './plugins/email.js';
import { webhookPlugin } from './plugins/webhook.js';
import { luaPlugin } from './plugins/lua.js';
import { htmlOf, subjectOf, textOf } from './render.js';
import { PERMISSION_PREFIX, routeByConfig, routeByPermissions } from './routing.js';
import { Silences } from './silences.js';
import { Reconciler } from './reconciler.js';

/** Job name of a delivery (one message to one receiver, grouping what is pending). */
export const ALERT_DELIVER_JOB = 'deliver';

export interface DeliverJobData {
  receiver: string;
}

export type AlerterConnections = RoleConnections;

/** Counters for the status line and tests. */
export interface AlerterStats {
  /** Event transitions recorded for the first time. */
  events: number;
  /** Transitions seen again (duplicate publish, retried job): nothing new sent. */
  duplicates: number;
  /** Transitions recorded but not sent because a silence matched. */
  silenced: number;
  /** Transitions no route matched (recorded, nobody to tell). */
  unrouted: number;
  /** Messages handed to plugins. */
  messages: number;
  /** Plugin calls that failed (each retried with backoff until the attempts run out). */
  sendFailures: number;
  /** Reminders of still-open events scheduled. */
  reminders: number;
  /** Delivery rows given up after their job's last attempt. */
  givenUp: number;
  /** Ledger transitions removed by the retention. */
  purged: number;
}

export const BUILTIN_PLUGINS: AlertPlugin[] = [emailPlugin, webhookPlugin, luaPlugin] as unknown as AlertPlugin[];

/** Transitions younger than this are left to the normal path by the reconciliation. */
const RECONCILE_GRACE_MS = 60_000;

/** Longest wait for running jobs on close (below the process's 30 s shutdown deadline). */
const CLOSE_TIMEOUT_MS = 15_000;

/** How often the ledger retention runs (or once per retention, if shorter). */
const PURGE_EVERY_MS = 3_600_000;

/** Batches of 1,000 transitions removed per retention run at most (the next run continues). */
const PURGE_MAX_BATCHES = 100;

/** Rows of one receiver put in one message at most (a bigger backlog makes several). */
const MAX_EVENTS_PER_MESSAGE = 500;

/**
 * The alerter role. Consumes the `alerts` queue: `event` jobs (one per event
 * transition, from the worker's QueueEventSink) are enriched, checked against
 * silences, routed to receivers and recorded in MySQL (deduplicated by table,
 * id and transition); `deliver` jobs (one per receiver and grouping window)
 * send what a receiver is owed as one message through its plugin, and are
 * retried with exponential backoff while the plugin fails. Any number of
 * alerters may run: MySQL claims keep a row in one message at a time.
 */
export class Alerter implements Service, Reloadable<AlerterOptions> {
  readonly name = 'alerter';
  readonly stats: AlerterStats = {
    events: 0,
    duplicates: 0,
    silenced: 0,
    unrouted: 0,
    messages: 0,
    sendFailures: 0,
    reminders: 0,
    givenUp: 0,
    purged: 0,
  };
  /** Prometheus metrics to update (`watched_alerts_sent_total`, `watched_alerts_failed_total`); set before start. */
  metrics?: WatchedMetrics;
  private state: ServiceState = 'INITIALIZED';
  private pool?: Pool;
  private redis?: Redis;
  private queueRedis?: Redis;
  private queue?: Queue;
  private bull?: BullWorker;
  private silences?: Silences;
  private readonly senders = new Map<string, AlertSender>();
  /** Plugin name of each receiver (metrics label). */
  private readonly pluginOf = new Map<string, string>();
  private purgeTimer?: NodeJS.Timeout;
  private purging?: Promise<void>;
  private sweepTimer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;
  private reconcileTimer?: NodeJS.Timeout;
  private reconciling?: Promise<void>;
  private repeatTimer?: NodeJS.Timeout;
  private repeating?: Promise<void>;
  private sink?: QueueEventSink;
  private closing?: Promise<void>;

  constructor(
    private readonly connections: AlerterConnections,
    private options: AlerterOptions,
    private readonly logger: Logger,
    /** Plugins given in code (besides the built-ins and `alertPlugins` modules). */
    private readonly extraPlugins: AlertPlugin[] = [],
  ) {}

  async start(): Promise<void> {
    if (this.state !== 'INITIALIZED') throw new IllegalStateError(`alerter cannot start in state ${this.state}`);
    try {
      await this.createSenders();
      this.pool = createMysqlPool(this.connections.mysql, { connectionLimit: Math.max(4, this.options.alertConcurrency + 2) });
      this.silences = new Silences(this.pool);
      const keys = new RedisKeys(this.connections.prefix);
      this.queueRedis = createRedis(this.connections.redis, { connectionName: 'watched-alerter-queue' });
      this.queue = new Queue(ALERTS_QUEUE, { connection: this.queueRedis, prefix: keys.bullPrefix });
      this.redis = createRedis(this.connections.redis, { blocking: true, connectionName: 'watched-alerter' });
      this.bull = new BullWorker(ALERTS_QUEUE, (job, _token, signal) => this.process(job, signal), {
        connection: this.redis,
        prefix: keys.bullPrefix,
        concurrency: this.options.alertConcurrency,
        autorun: false,
        // a plugin call may take up to the send timeout: keep the lock longer than that
        lockDuration: Math.max(30_000, this.options.alertSendTimeout * 2),
      });
      this.bull.on('failed', (job, err) => {
        const final = job ? job.attemptsMade >= (job.opts.attempts ?? 1) : true;
        const log = final ? this.logger.error.bind(this.logger) : this.logger.warn.bind(this.logger);
        log(`alert job ${job?.id} failed (attempt ${job?.attemptsMade}${final ? ', no more retries' : ', will retry'}): ${err.message}`);
      });
      this.bull.on('error', (err) => this.logger.error(`alerter queue error: ${err.message}`));
      void this.bull.run().catch((err: Error) => this.logger.error(`alerter stopped: ${err.message}`));
      const sweepEvery = Math.max(1000, this.options.alertGroupWindow);
      this.sweepTimer = setInterval(() => {
        this.sweeping ??= this.sweep().finally(() => (this.sweeping = undefined));
      }, sweepEvery);
      this.sweepTimer.unref();
      if (this.options.alertReconcileInterval > 0) {
        this.sink = new QueueEventSink(this.queueRedis, this.connections.prefix);
        const reconciler = new Reconciler(this.pool, this.sink, this.options.alertReconcileLookback, RECONCILE_GRACE_MS, {
          logLevel: this.options.alertLogLevel,
        });
        const every = this.options.alertReconcileInterval;
        this.reconcileTimer = setInterval(() => {
          this.reconciling ??= this.reconcile(reconciler).finally(() => (this.reconciling = undefined));
        }, every + Math.floor(Math.random() * Math.min(every, 5000)));
        this.reconcileTimer.unref();
      }
      if (this.options.alertRepeatInterval > 0) {
        this.repeatTimer = setInterval(() => {
          this.repeating ??= this.repeat().finally(() => (this.repeating = undefined));
        }, Math.max(200, Math.min(this.options.alertRepeatInterval, 60_000)));
        this.repeatTimer.unref();
      }
      if (this.options.alertLedgerRetention > 0) {
        this.purgeTimer = setInterval(() => {
          this.purging ??= this.purge().finally(() => (this.purging = undefined));
        }, Math.min(this.options.alertLedgerRetention, PURGE_EVERY_MS));
        this.purgeTimer.unref();
      }
      this.state = 'RUNNING';
      this.logger.info('alerter started', { receivers: [...this.senders.keys()], groupWindowMs: this.options.alertGroupWindow });
    } catch (err) {
      this.state = 'FAILED';
      await this.release();
      throw err;
    }
  }

  /**
   * SIGHUP: routes (checked against the running receivers: a route naming an
   * unknown one refuses the lot), reminder severities, delivery attempts and
   * backoff change live; receivers and plugins need a restart.
   */
  reload(options: AlerterOptions): readonly string[] {
    this.checkRoutes(options.alertRoutes, ' (receivers change after a restart)');
    const { alertRoutes, alertRepeatSeverities, alertAttempts, alertBackoff } = options;
    this.options = { ...this.options, alertRoutes, alertRepeatSeverities, alertAttempts, alertBackoff };
    return ['alertRoutes', 'alertRepeatSeverities', 'alertAttempts', 'alertBackoff'];
  }

  /** Validates every receiver's options with its plugin's schema and creates its sender. */
  private async createSenders(): Promise<void> {
    const retention = this.options.alertLedgerRetention;
    if (retention > 0 && retention <= this.options.alertReconcileLookback + RECONCILE_GRACE_MS) {
      // A purged transition found again by the reconciliation would be sent a second time.
      throw new ConfigError('alertLedgerRetention', 'must be longer than --alert-reconcile-lookback (plus one minute)');
    }
    const plugins = new Map<string, AlertPlugin>();
    for (const p of [...BUILTIN_PLUGINS, ...this.extraPlugins]) plugins.set(p.name, p);
    for (const spec of this.options.alertPlugins) {
      let plugin: AlertPlugin;
      try {
        plugin = await loadPluginModule(spec);
      } catch (err) {
        throw new ConfigError('alertPlugins', errorMessage(err));
      }
      plugins.set(plugin.name, plugin);
    }
    const seen = new Set<string>();
    for (const receiver of this.options.alertReceivers) {
      if (seen.has(receiver.name)) throw new ConfigError('alertReceivers', `receiver ${receiver.name} is defined twice`);
      seen.add(receiver.name);
      const plugin = plugins.get(receiver.plugin);
      if (!plugin) {
        throw new ConfigError('alertReceivers', `receiver ${receiver.name}: unknown plugin ${receiver.plugin} (known: ${[...plugins.keys()].join(', ')})`);
      }
      const parsed = plugin.options.safeParse(receiver.options);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
        throw new ConfigError('alertReceivers', `receiver ${receiver.name} (${plugin.name}): ${issues}`);
      }
      this.senders.set(receiver.name, await plugin.create(parsed.data, { receiver: receiver.name, logger: this.logger }));
      this.pluginOf.set(receiver.name, plugin.name);
      if (receiver.name === this.options.alertPermissionReceiver && !plugin.addressable) {
        throw new ConfigError('alertPermissionReceiver', `receiver ${receiver.name}: plugin ${plugin.name} cannot send to addresses (use email)`);
      }
    }
    this.checkRoutes(this.options.alertRoutes);
    const perm = this.options.alertPermissionReceiver;
    if (perm !== undefined && !this.senders.has(perm)) throw new ConfigError('alertPermissionReceiver', `unknown receiver ${perm}`);
  }

  /** Every receiver a route names must be one of the running senders; `note` ends the error. */
  private checkRoutes(routes: AlerterOptions['alertRoutes'], note = ''): void {
    for (const route of routes) {
      for (const r of route.receivers) {
        if (!this.senders.has(r)) throw new ConfigError('alertRoutes', `route names unknown receiver ${r}${note}`);
      }
    }
  }

  private async process(job: Job, signal?: AbortSignal): Promise<unknown> {
    if (job.name === ALERT_EVENT_JOB) return this.handleEvent(job);
    if (job.name === ALERT_DELIVER_JOB) return this.handleDelivery(job as Job<DeliverJobData>, signal);
    throw new UnrecoverableError(`unknown alert job name ${job.name}`);
  }

  /** One event transition: enrich, silence or route, record once, schedule the receivers' deliveries. */
  private async handleEvent(job: Job): Promise<{ fresh: boolean; receivers: string[]; silenceId: number | null }> {
    const parsed = monitoringEventSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid event payload: ${parsed.error.message}`);
    const pool = this.pool as Pool;
    const now = Date.now();
    const event = await enrichEvent(pool, parsed.data);
    const silence = await (this.silences as Silences).match(event, now);
    let receivers: string[] = [];
    if (!silence) {
      receivers = routeByConfig(this.options.alertRoutes, event);
      if (this.options.alertPermissionReceiver !== undefined) {
        for (const r of await routeByPermissions(pool, event)) if (!receivers.includes(r)) receivers.push(r);
      }
    }
    const result = await recordEvent(pool, event, now, silence?.id ?? null, receivers);
    if (!result.fresh) {
      this.stats.duplicates += 1;
    } else {
      this.stats.events += 1;
      if (silence) {
        this.stats.silenced += 1;
        this.logger.info(`silenced by #${silence.id}: ${event.summary}`);
      } else if (!receivers.length) {
        this.stats.unrouted += 1;
        this.logger.debug(`no receiver: ${event.summary}`);
      }
    }
    // Also on a duplicate: the first run may have died between MySQL and Redis.
    for (const receiver of result.pending) await this.scheduleDelivery(receiver);
    return { fresh: result.fresh, receivers: result.pending, silenceId: result.silenceId };
  }

  private deliverJobOptions(): JobsOptions {
    return {
      attempts: this.options.alertAttempts,
      backoff: { type: 'exponential', delay: this.options.alertBackoff },
      removeOnComplete: { age: Math.ceil(this.options.alertJobRetention / 1000) },
      removeOnFail: { age: Math.ceil(this.options.alertFailedRetention / 1000) },
    };
  }

  /**
   * At most one pending delivery job per receiver (BullMQ deduplication id
   * `deliver-<receiver hash>`), due one window after the first transition that
   * needed it: every transition arriving meanwhile (or while it waits for a
   * retry) leaves in the same message. One arriving while it runs gets a
   * follow-up job (`keepLastIfActive`).
   */
  private async scheduleDelivery(receiver: string, immediately = false): Promise<void> {
    await (this.queue as Queue).add(ALERT_DELIVER_JOB, { receiver } satisfies DeliverJobData, {
      ...this.deliverJobOptions(),
      delay: immediately ? 0 : this.options.alertGroupWindow,
      deduplication: { id: `deliver-${receiverHash(receiver)}`, keepLastIfActive: true },
    });
  }

  private async handleDelivery(job: Job<DeliverJobData>, signal?: AbortSignal): Promise<{ messages: number; events: number }> {
    const { receiver } = job.data;
    const pool = this.pool as Pool;
    const token = job.id ?? `anon-${Date.now()}`;
    const isPermission = receiver.startsWith(PERMISSION_PREFIX);
    const configured = isPermission ? (this.options.alertPermissionReceiver ?? '') : receiver;
    const sender = this.senders.get(configured);
    const plugin = this.pluginOf.get(configured) ?? 'unknown';
    const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const holdMs = this.options.alertSendTimeout * 2;
    let messages = 0;
    let events = 0;
    for (;;) {
      const now = Date.now();
      const claimed = await claimDeliveries(pool, receiver, token, now, now + holdMs, MAX_EVENTS_PER_MESSAGE);
      if (!claimed.length) break;
      const list = claimed.map((c) => c.event);
      try {
        if (!sender) throw new UnrecoverableError(`receiver ${receiver} is not configured (any more)`);
        const notification: Notification = {
          receiver,
          recipients: isPermission ? [receiver.slice(PERMISSION_PREFIX.length)] : undefined,
          events: list,
          subject: subjectOf(list),
          text: textOf(list),
          html: htmlOf(list),
        };
        await this.sendWithTimeout(sender, notification, signal);
      } catch (err) {
        this.stats.sendFailures += 1;
        const unrecoverable = err instanceof UnrecoverableError;
        const nextDelay = this.options.alertBackoff * 2 ** job.attemptsMade;
        const given = final || unrecoverable;
        const rows = await failDeliveries(pool, token, errorMessage(err), given, Date.now(), Date.now() + nextDelay + holdMs);
        if (given && rows > 0) {
          this.stats.givenUp += rows;
          this.metrics?.alertsFailed.inc({ plugin }, rows);
        }
        throw err;
      }
      await markSent(pool, claimed.map((c) => c.id), Date.now());
      this.metrics?.alertsSent.inc({ plugin }, claimed.length);
      messages += 1;
      events += list.length;
      this.stats.messages += 1;
      this.logger.info(`sent ${list.length} event(s) to ${receiver}: ${notificationSubject(list)}`);
    }
    return { messages, events };
  }

  private async sendWithTimeout(sender: AlertSender, notification: Notification, signal?: AbortSignal): Promise<void> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort(new Error('send timeout'));
        reject(new Error(`plugin took longer than ${this.options.alertSendTimeout} ms`));
      }, this.options.alertSendTimeout);
    });
    try {
      await Promise.race([sender.send(notification, controller.signal), timeout]);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Re-schedules receivers whose pending rows have no live delivery job (lost to a crash or a Redis restart). */
  private async sweep(): Promise<void> {
    if (this.state !== 'RUNNING' || !this.pool) return;
    try {
      const now = Date.now();
      const margin = this.options.alertGroupWindow + 5000;
      const receivers = await orphanReceivers(this.pool, now - margin, now);
      for (const receiver of receivers) await this.scheduleDelivery(receiver, true);
      if (receivers.length) this.logger.info(`re-scheduled deliveries for ${receivers.length} receiver(s)`);
    } catch (err) {
      this.logger.warn(`alert sweep failed: ${errorMessage(err)}`);
    }
  }

  /**
   * Reminders: an opening of a repeat severity whose newest message to a
   * receiver is older than the repeat interval, still open in its table and
   * not silenced now, gets one more delivery row (round n+1, unique: two
   * alerters add it once) and a delivery job.
   */
  private async repeat(): Promise<void> {
    if (this.state !== 'RUNNING' || !this.pool || !this.silences) return;
    try {
      const now = Date.now();
      const candidates = await repeatCandidates(this.pool, this.options.alertRepeatSeverities, now - this.options.alertRepeatInterval);
      for (const c of candidates) {
        if (!(await stillOpen(this.pool, c.table, c.id))) continue;
        if (await this.silences.match(JSON.parse(c.payload) as AlertEvent, now)) continue;
        if (await addReminder(this.pool, c, c.round + 1, now)) {
          this.stats.reminders += 1;
          await this.scheduleDelivery(c.receiver);
        }
      }
    } catch (err) {
      this.logger.warn(`alert reminders failed: ${errorMessage(err)}`);
    }
  }

  /** Ledger retention: transitions older than --alert-ledger-retention that owe nothing, in bounded batches. */
  private async purge(): Promise<void> {
    if (this.state !== 'RUNNING' || !this.pool) return;
    try {
      const before = Date.now() - this.options.alertLedgerRetention;
      let removed = 0;
      for (let batch = 0; batch < PURGE_MAX_BATCHES && this.state === 'RUNNING'; batch += 1) {
        const n = await purgeLedger(this.pool, before);
        removed += n;
        if (n === 0) break;
      }
      this.stats.purged += removed;
      if (removed) this.logger.info(`alert ledger: removed ${removed} delivered transition(s) older than the retention`);
    } catch (err) {
      this.logger.warn(`alert ledger retention failed: ${errorMessage(err)}`);
    }
  }

  private async reconcile(reconciler: Reconciler): Promise<void> {
    if (this.state !== 'RUNNING') return;
    try {
      const found = await reconciler.run();
      if (found.length) this.logger.warn(`published again ${found.length} event transition(s) missing from the alert ledger`);
    } catch (err) {
      this.logger.warn(`alert reconciliation failed: ${errorMessage(err)}`);
    }
  }

  /**
   * Stops taking jobs and waits for running ones up to CLOSE_TIMEOUT_MS (a
   * send is bounded by the send timeout); past that, they are left to stall
   * and be retried elsewhere (their rows stay held by the same job id, which
   * takes them back). Then closes the plugins and the connections. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.state === 'RUNNING') this.state = 'STOPPING';
      clearInterval(this.sweepTimer);
      clearInterval(this.reconcileTimer);
      clearInterval(this.repeatTimer);
      clearInterval(this.purgeTimer);
      const bull = this.bull;
      if (bull) {
        const closed = bull.close().catch((err: Error) => this.logger.error(`closing the alert consumer: ${err.message}`));
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), CLOSE_TIMEOUT_MS)));
        const outcome = await Promise.race([closed.then(() => 'closed' as const), deadline]);
        clearTimeout(timer);
        if (outcome === 'deadline') {
          this.logger.warn(`alert jobs still running after ${CLOSE_TIMEOUT_MS} ms: leaving them to be retried`);
          await bull.close(true).catch(() => undefined);
        }
      }
      await this.sweeping;
      await this.reconciling;
      await this.repeating;
      await this.purging;
      await this.sink?.close().catch(() => undefined);
      await this.release();
      this.state = 'STOPPED';
    })();
    return this.closing;
  }

  private async release(): Promise<void> {
    for (const [name, sender] of this.senders) {
      await sender.close?.().catch((err: Error) => this.logger.warn(`closing receiver ${name}: ${err.message}`));
    }
    this.senders.clear();
    await this.queue?.close().catch(() => undefined);
    await this.queueRedis?.quit().catch(() => undefined);
    await this.redis?.quit().catch(() => undefined);
    await this.pool?.end().catch(() => undefined);
  }
}

function receiverHash(receiver: string): string {
  return createHash('sha256').update(receiver).digest('hex').slice(0, 16);
}

function notificationSubject(events: { summary: string }[]): string {
  return events.length === 1 ? events[0].summary : `${events.length} events`;
}
