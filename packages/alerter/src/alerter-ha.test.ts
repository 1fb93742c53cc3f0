import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { alertJobId, WatchedMetrics, type MonitoringEvent, type QueueEventSink, type ResultSetHeader, type RowDataPacket } from '@watched/core';
import type { TestEnvironment } from '@watched/core/testing';
import { readAlertStatus } from './alert-status.js';
import { purgeLedger } from './ledger.js';
import { Reconciler } from './maintenance/reconciler.js';
import { Silences } from './silences.js';
import type { WebhookBody } from './plugins/webhook.js';
import { waitFor } from '@watched/core/testing';
import { AlerterTestBed, mailReceiver } from './testing/alerter-test-bed.js';

/** Log lines as alerts, failed deliveries (status, metrics), ledger retention, several alerters on one queue. */
let bed: AlerterTestBed;
let env: TestEnvironment;
let sink: QueueEventSink;
let servId: number;
let lineNo = 0;
const servers: Server[] = [];

beforeAll(async () => {
  bed = await AlerterTestBed.create('alerter_ha');
  ({ env, sink } = bed);
  const [h] = await env.pool.query<ResultSetHeader>("INSERT INTO `h$hosts` (name) VALUES ('db1')");
  const [t] = await env.pool.query<ResultSetHeader>("INSERT INTO `s$types` (name) VALUES ('mysql')");
  const [s] = await env.pool.query<ResultSetHeader>("INSERT INTO `s$services` (host_id, name, type_id) VALUES (?, 'mysqld', ?)", [h.insertId, t.insertId]);
  servId = s.insertId;
});

afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((resolve) => s.close(() => resolve()));
  await bed.reset();
});
afterAll(async () => bed.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const startSmtp = (port = 0) => bed.startSmtp(port);
const startAlerter = (overrides: Parameters<typeof bed.startAlerter>[0], metrics?: WatchedMetrics) => bed.startAlerter(overrides, metrics);

/** A stored log line of mysqld (event type 2 = Error), as the worker's LogAlerts announces it. */
async function logLine(text: string, eventType = 2): Promise<MonitoringEvent> {
  lineNo += 1;
  const ts = Date.now();
  const [r] = await env.pool.query<ResultSetHeader>(
    "INSERT INTO `s$log_events` (serv_id, `timestamp`, event_type, source_name, date_field, line_no, `text`) VALUES (?, ?, ?, '/var/log/mysql/error.log', 'd', ?, ?)",
    [servId, ts, eventType, lineNo, text],
  );
  return { kind: 'log-event', transition: 'opened', id: r.insertId, table: 's$log_events', time: ts, detail: { servId, eventType, text } };
}

async function counter(metrics: WatchedMetrics, name: string, plugin: string): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) => v.labels.plugin === plugin)?.value ?? 0;
}

describe('Alerter: log events, failures, retention, replicas', () => {
  it('sends one mail per log line even when the line is announced again (replayed poll), naming host, service and text', async () => {
    const smtp = await startSmtp();
    const alerter = await startAlerter({ alertReceivers: [mailReceiver(smtp.port)] });
    const line = await logLine('InnoDB: Database page corruption on disk');
    await sink.publish([line]);
    await sink.publish([line]); // same job id: ignored
    await waitFor('the log line mail', () => smtp.mails.length === 1, 10_000);
    // Past the job's retention, the MySQL ledger still knows the line.
    const queue = bed.alertsQueue();
    await (await queue.getJob(alertJobId(line)))?.remove();
    await queue.close();
    await sink.publish([line]);
    await waitFor('the duplicate to be processed', () => alerter.stats.duplicates >= 1, 10_000);
    await sleep(800);
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0].subject).toContain('[Error] db1/mysqld log /var/log/mysql/error.log: InnoDB: Database page corruption');
    expect(smtp.mails[0].raw).toContain('mysqld');
    const [rows] = await env.pool.query<RowDataPacket[]>(
      "SELECT kind, host, service, severity FROM `c$alert_events` WHERE event_table = 's$log_events' AND event_id = ?",
      [line.id],
    );
    expect(rows).toEqual([{ kind: 'log-event', host: 'db1', service: 'mysqld', severity: 'Error' }]);
  });

  it('silences log events by kind, and routes them by kind', async () => {
    const smtp = await startSmtp();
    const silences = new Silences(env.pool);
    const silenceId = await silences.add({ kind: 'log-event', host: 'db*', endsAt: Date.now() + 60_000 });
    const alerter = await startAlerter({
      alertReceivers: [mailReceiver(smtp.port)],
      alertRoutes: [{ match: { kind: 'log-event' }, receivers: ['ops'] }],
    });
    await sink.publish([await logLine('silenced line')]);
    await waitFor('the line to be silenced', () => alerter.stats.silenced === 1, 10_000);
    await silences.remove(silenceId);
    await sink.publish([await logLine('routed line')]);
    await waitFor('the routed line', () => smtp.mails.length === 1, 10_000);
    await sleep(500);
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0].subject).toContain('routed line');
  });

  it('keeps deliveries that used up their attempts as failed: counted in the status and the metric', async () => {
    const probe = await startSmtp();
    const port = probe.port;
    await probe.stop(); // nothing listens there
    const metrics = new WatchedMetrics({ defaultMetrics: false });
    const alerter = await startAlerter({ alertReceivers: [mailReceiver(port)], alertAttempts: 2, alertBackoff: '100ms' }, metrics);
    const line = await logLine('given up line');
    await sink.publish([line]);
    await waitFor('the delivery to be given up', () => alerter.stats.givenUp === 1, 15_000);
    const queue = bed.alertsQueue();
    const status = await readAlertStatus(env.pool, queue);
    await queue.close();
    expect(status.failedDeliveries).toBe(1);
    expect(status.latestFailure).toMatchObject({ receiver: 'ops', attempts: 2 });
    expect(status.latestFailure!.error).toMatch(/ECONNREFUSED|connect/i);
    expect(status.latestFailure!.event).toContain('given up line');
    expect(status.jobs!.failed).toBeGreaterThanOrEqual(1);
    expect(await counter(metrics, 'watched_alerts_failed_total', 'email')).toBe(1);
    expect(await counter(metrics, 'watched_alerts_sent_total', 'email')).toBe(0);

    // Back up, set the row back to owed (as docs/alerting.md says): sent, counted as sent.
    const smtp = await startSmtp(port);
    await env.pool.query('UPDATE `c$alert_deliveries` SET failed_at = NULL, claim = NULL, held_until = NULL WHERE failed_at IS NOT NULL');
    await alerter.close();
    const again = await startAlerter({ alertReceivers: [mailReceiver(port)], alertGroupWindow: '200ms' }, metrics);
    await waitFor('the mail after the retry', () => smtp.mails.length === 1, 15_000);
    await waitFor('the sent metric', async () => (await counter(metrics, 'watched_alerts_sent_total', 'email')) === 1, 5000);
    expect(again.stats.messages).toBe(1);
    expect((await readAlertStatus(env.pool)).failedDeliveries).toBe(0);
  });

  it('purges delivered ledger rows past the retention, keeping owed and given-up ones and events still reminded', async () => {
    const old = Date.now() - 40 * 86_400_000;
    const add = async (id: number, deliveries: Array<{ sent?: number; failed?: number }>) => {
      await env.pool.query(
        "INSERT INTO `c$alert_events` (event_table, event_id, transition, kind, event_time, received_at, payload) VALUES ('agt$events', ?, 'opened', 'agent-failed', ?, ?, '{}')",
        [id, old, old],
      );
      for (const [i, d] of deliveries.entries()) {
        await env.pool.query(
          "INSERT INTO `c$alert_deliveries` (event_table, event_id, transition, receiver, round, created_at, sent_at, failed_at) VALUES ('agt$events', ?, 'opened', 'ops', ?, ?, ?, ?)",
          [id, i, old, d.sent ?? null, d.failed ?? null],
        );
      }
    };
    await add(900_001, [{ sent: old }]); // delivered long ago: purged
    await add(900_002, []); // silenced or unrouted long ago: purged
    await add(900_003, [{}]); // still owed: kept
    await add(900_004, [{ failed: old }]); // given up: kept
    await add(900_005, [{ sent: old }, { sent: Date.now() }]); // reminded recently: kept
    const cutoff = Date.now() - 30 * 86_400_000;
    expect(await purgeLedger(env.pool, cutoff)).toBe(2);
    expect(await purgeLedger(env.pool, cutoff)).toBe(0);
    const [rows] = await env.pool.query<RowDataPacket[]>("SELECT event_id FROM `c$alert_events` WHERE event_table = 'agt$events' AND event_id >= 900000 ORDER BY event_id");
    expect(rows.map((r) => Number(r.event_id))).toEqual([900_003, 900_004, 900_005]);
    const [orphans] = await env.pool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM `c$alert_deliveries` WHERE event_id IN (900001, 900002)");
    expect(Number(orphans[0].n)).toBe(0); // cascaded
    await env.pool.query("DELETE FROM `c$alert_events` WHERE event_table = 'agt$events' AND event_id >= 900000");
  });

  it('publishes again log lines whose publish was lost, checking each line once, after one interval', async () => {
    const published: MonitoringEvent[] = [];
    const memory = { publish: async (events: MonitoringEvent[]) => void published.push(...events) };
    const reconciler = new Reconciler(env.pool, memory, 3_600_000, 60_000, { logLevel: 2 });
    await reconciler.run(); // first pass: starts after the newest line the ledger knows
    const lost = await logLine('lost publish');
    const notice = await logLine('below the level', 4);
    await reconciler.run(); // the lines are younger than one pass: left to the normal path
    expect(published.filter((e) => e.table === 's$log_events')).toEqual([]);
    await reconciler.run();
    expect(published.filter((e) => e.table === 's$log_events').map((e) => e.id)).toEqual([lost.id]);
    expect(published.some((e) => e.id === notice.id && e.table === 's$log_events')).toBe(false);
    published.length = 0;
    await reconciler.run();
    expect(published.filter((e) => e.table === 's$log_events')).toEqual([]);
  });

  it('refuses a ledger retention shorter than the reconciliation lookback', async () => {
    await expect(startAlerter({ alertLedgerRetention: '30m' })).rejects.toThrow(/alertLedgerRetention/);
  });

  it('two alerters on one queue: a burst with duplicate publishes delivers every transition exactly once', async () => {
    const received: WebhookBody[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookBody);
        res.writeHead(204).end();
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const options = {
      alertReceivers: [
        { name: 'ops', plugin: 'webhook', options: { url, timeoutMs: 2000 } },
        { name: 'dba', plugin: 'webhook', options: { url: `${url}?dba`, timeoutMs: 2000 } },
      ],
      alertRoutes: [{ match: {}, receivers: ['ops', 'dba'] }],
      alertGroupWindow: '200ms',
      alertConcurrency: 4,
    };
    const [a, b] = [await startAlerter(options), await startAlerter(options)];
    const lines: MonitoringEvent[] = [];
    for (let i = 0; i < 120; i++) lines.push(await logLine(`burst ${i}`));
    // Published in waves, each wave twice (a retried poll), while the alerters already deliver earlier ones.
    for (let i = 0; i < lines.length; i += 20) {
      await sink.publish(lines.slice(i, i + 20));
      await sink.publish(lines.slice(Math.max(0, i - 10), i + 20));
      await sleep(50);
    }
    const expected = lines.length * 2;
    const delivered = () => received.reduce((n, body) => n + body.events.length, 0);
    await waitFor(`${expected} deliveries`, () => delivered() >= expected, 30_000);
    await sleep(1000); // a few windows: nothing more arrives
    const seen = new Map<string, number>();
    for (const body of received) for (const e of body.events) seen.set(`${body.receiver}/${e.id}`, (seen.get(`${body.receiver}/${e.id}`) ?? 0) + 1);
    expect(seen.size).toBe(expected);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(a.stats.events + b.stats.events).toBe(lines.length);
    expect(a.stats.events).toBeGreaterThan(0);
    expect(b.stats.events).toBeGreaterThan(0);
    const [[owed]] = await env.pool.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM `c$alert_deliveries` WHERE event_table = 's$log_events' AND event_id IN (?) AND sent_at IS NULL",
      [lines.map((l) => l.id)],
    );
    expect(Number(owed.n)).toBe(0);
  });
});
