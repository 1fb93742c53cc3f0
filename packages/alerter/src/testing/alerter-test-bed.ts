import { Queue } from 'bullmq';
import { ALERTS_QUEUE, QueueEventSink, RedisKeys, createRedis, type Redis, type WatchedMetrics } from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import { Alerter } from '../alerter.js';
import { parseAlerterOptions, type RawAlerterOptions } from '../alerter-options.js';
import { SmtpPeer } from './smtp-peer.js';

/** An email receiver named `ops` sending to an SmtpPeer's port. */
export function mailReceiver(port: number) {
  return { name: 'ops', plugin: 'email', options: { host: '127.0.0.1', port, from: 'watched@example.org', to: 'ops@example.org', timeoutMs: 2000 } };
}

/**
 * What alerter tests share: their own database and key prefix, the worker's
 * sink publishing to the alerts queue, and the alerters and SMTP peers a
 * test starts, stopped by `reset()` (after each test) with the queue emptied.
 */
export class AlerterTestBed {
  private readonly alerters: Alerter[] = [];
  private readonly peers: SmtpPeer[] = [];

  private constructor(
    readonly env: TestEnvironment,
    private readonly sinkRedis: Redis,
    readonly sink: QueueEventSink,
  ) {}

  static async create(name: string): Promise<AlerterTestBed> {
    const env = await createTestEnvironment(name);
    const sinkRedis = createRedis(env.redisUrl);
    return new AlerterTestBed(env, sinkRedis, new QueueEventSink(sinkRedis, env.keys, { backoffMs: 100 }));
  }

  async startSmtp(port = 0): Promise<SmtpPeer> {
    const peer = new SmtpPeer();
    this.peers.push(peer);
    await peer.start(port);
    return peer;
  }

  /** An alerter with short windows and retries, routing everything to `ops` unless overridden. */
  async startAlerter(overrides: RawAlerterOptions = {}, metrics?: WatchedMetrics): Promise<Alerter> {
    const options = parseAlerterOptions({
      alertGroupWindow: '300ms',
      alertBackoff: '200ms',
      alertSendTimeout: '3s',
      alertRoutes: [{ match: {}, receivers: ['ops'] }],
      ...overrides,
    });
    const alerter = new Alerter(this.env.roleContext('alerter', { metrics }), options);
    this.alerters.push(alerter);
    await alerter.start();
    return alerter;
  }

  /** The alerts queue, for inspection; the caller closes it. */
  alertsQueue(): Queue {
    return new Queue(ALERTS_QUEUE, { connection: this.env.redis, prefix: this.env.keys.bullPrefix });
  }

  /** Stops what the test started and empties the queue. */
  async reset(): Promise<void> {
    for (const a of this.alerters.splice(0)) await a.close();
    for (const p of this.peers.splice(0)) await p.stop();
    const queue = this.alertsQueue();
    await queue.obliterate({ force: true });
    await queue.close();
  }

  async close(): Promise<void> {
    await this.reset();
    await this.sink.close();
    await this.sinkRedis.quit();
    await this.env.cleanup();
  }
}
