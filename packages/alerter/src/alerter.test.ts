import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { alertJobId, type MonitoringEvent, type QueueEventSink, type ResultSetHeader, type RowDataPacket } from '@watched/core';
import type { TestEnvironment } from '@watched/core/testing';
import { Silences } from './silences.js';
import { readAlertStatus } from './alert-status.js';
import { webhookSignature, type WebhookBody } from './plugins/webhook.js';
import { waitFor } from '@watched/core/testing';
import { AlerterTestBed, mailReceiver } from './testing/alerter-test-bed.js';

let bed: AlerterTestBed;
let env: TestEnvironment;
let sink: QueueEventSink;
let hostId: number;
let resId: number;

beforeAll(async () => {
  bed = await AlerterTestBed.create('alerter');
  ({ env, sink } = bed);
  const [h] = await env.pool.query<ResultSetHeader>("INSERT INTO `h$hosts` (name) VALUES ('web1')");
  hostId = h.insertId;
  const [r] = await env.pool.query<ResultSetHeader>("INSERT INTO `c$ressources` (name, origin, data_type) VALUES ('diskusage/%2F', 'host', 'disk_usage')");
  resId = r.insertId;
  await env.pool.query('INSERT INTO `h$ressources` (host_id, res_id) VALUES (?, ?)', [hostId, resId]);
});

afterEach(async () => bed.reset());
afterAll(async () => bed.close());

/** A threshold event row on web1 (pctfree < 25, Warning = event type 3). */
async function openThreshold(value: number, start: number): Promise<MonitoringEvent> {
  const [res] = await env.pool.query<ResultSetHeader>(
    "INSERT INTO `h$res_events` (host_id, res_id, start_time, event_type, property, current_value, oper, value) VALUES (?, ?, ?, 3, 'pctfree', ?, '<', 25)",
    [hostId, resId, start, value],
  );
  return { kind: 'threshold', transition: 'opened', id: res.insertId, table: 'h$res_events', time: start, detail: { property: 'pctfree' } };
}

async function closeThreshold(opened: MonitoringEvent, end: number): Promise<MonitoringEvent> {
  await env.pool.query('UPDATE `h$res_events` SET end_time = ?, current_value = 40 WHERE id = ?', [end, opened.id]);
  return { ...opened, transition: 'closed', time: end };
}

const startSmtp = (port = 0) => bed.startSmtp(port);
const startAlerter = (overrides: Parameters<typeof bed.startAlerter>[0]) => bed.startAlerter(overrides);

async function ledger(event: MonitoringEvent) {
  const [rows] = await env.pool.query<RowDataPacket[]>(
    'SELECT e.silence_id, d.receiver, d.sent_at, d.attempts, d.last_error FROM `c$alert_events` e ' +
      'LEFT JOIN `c$alert_deliveries` d ON d.event_table = e.event_table AND d.event_id = e.event_id AND d.transition = e.transition ' +
      'WHERE e.event_table = ? AND e.event_id = ? AND e.transition = ?',
    [event.table, event.id, event.transition],
  );
  return rows;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Alerter', () => {
  it('sends one mail per opening and one per closing, even when each is published twice', async () => {
    const smtp = await startSmtp();
    const alerter = await startAlerter({ alertReceivers: [mailReceiver(smtp.port)] });
    const opened = await openThreshold(12, Date.now() - 1000);
    await sink.publish([opened]);
    await sink.publish([opened]); // same job id: ignored by BullMQ
    await waitFor('the opening mail', () => smtp.mails.length === 1, 10_000);
    // the job is gone (retention): the MySQL ledger still knows the transition
    const queue = bed.alertsQueue();
    await (await queue.getJob(alertJobId(opened)))?.remove();
    await queue.close();
    await sink.publish([opened]);
    await waitFor('the duplicate to be processed', () => alerter.stats.duplicates >= 1, 10_000);

    const closed = await closeThreshold(opened, Date.now());
    await sink.publish([closed]);
    await sink.publish([closed]);
    await waitFor('the closing mail', () => smtp.mails.length === 2, 10_000);
    await sleep(800); // two windows: nothing else arrives
    expect(smtp.mails).toHaveLength(2);
    expect(smtp.mails[0].subject).toContain('web1');
    expect(smtp.mails[0].subject).toContain('opened');
    expect(smtp.mails[0].raw).toContain('diskusage/%2F');
    expect(smtp.mails[0].raw).toContain('pctfree');
    expect(smtp.mails[0].to).toEqual(['ops@example.org']);
    expect(smtp.mails[1].subject).toContain('closed');
    expect(alerter.stats.events).toBe(2);
    await waitFor('the closing to be marked sent', async () => (await ledger(closed))[0].sent_at !== null, 5000);
  });

  it('retries while the SMTP server is down and delivers once it is back', async () => {
    const probe = await startSmtp();
    const port = probe.port;
    await probe.stop(); // nothing listens there now
    const alerter = await startAlerter({ alertReceivers: [mailReceiver(port)] });
    const opened = await openThreshold(3, Date.now());
    await sink.publish([opened]);
    await waitFor('two failed attempts', () => alerter.stats.sendFailures >= 2, 10_000);
    const statusQueue = bed.alertsQueue();
    const status = await readAlertStatus(env.pool, statusQueue);
    await statusQueue.close();
    expect(status.pendingDeliveries).toBeGreaterThanOrEqual(1);
    expect(status.oldestPendingAt).not.toBeNull();
    expect(status.jobs!.delayed + status.jobs!.waiting + status.jobs!.active).toBeGreaterThanOrEqual(1);
    const [row] = await ledger(opened);
    expect(Number(row.attempts)).toBeGreaterThanOrEqual(2);
    expect(row.sent_at).toBeNull();
    expect(String(row.last_error)).toMatch(/ECONNREFUSED|connect/i);
    const smtp = await startSmtp(port);
    await waitFor('the mail after SMTP came back', () => smtp.mails.length === 1, 15_000);
    expect(smtp.mails[0].subject).toContain('opened');
    // the mail is accepted before the row is marked: wait for the mark
    await waitFor('the delivery to be marked sent', async () => (await ledger(opened))[0].sent_at !== null, 5000);
    await sleep(800);
    expect(smtp.mails).toHaveLength(1);
  });

  it('groups a burst of 50 events for one receiver into one message', async () => {
    const smtp = await startSmtp();
    await startAlerter({ alertReceivers: [mailReceiver(smtp.port)], alertGroupWindow: '1500ms' });
    const events: MonitoringEvent[] = [];
    const t0 = Date.now();
    for (let i = 0; i < 50; i++) events.push(await openThreshold(i % 25, t0 + i));
    await sink.publish(events);
    await waitFor('the grouped mail', () => smtp.mails.length >= 1, 10_000);
    await sleep(1000);
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0].events).toBe(50);
    expect(smtp.mails[0].subject).toContain('50 opened');
  });

  it('records a silenced event without sending it', async () => {
    const smtp = await startSmtp();
    const silences = new Silences(env.pool);
    const silenceId = await silences.add({ host: 'web*', resType: 'disk_usage', kind: 'threshold', endsAt: Date.now() + 60_000, comment: 'maintenance' });
    const alerter = await startAlerter({ alertReceivers: [mailReceiver(smtp.port)] });
    const opened = await openThreshold(1, Date.now());
    await sink.publish([opened]);
    await waitFor('the event to be silenced', () => alerter.stats.silenced === 1, 10_000);
    await sleep(700);
    expect(smtp.mails).toHaveLength(0);
    const rows = await ledger(opened);
    expect(rows).toHaveLength(1);
    expect(rows[0].silence_id).toBe(silenceId);
    expect(rows[0].receiver).toBeNull(); // no delivery owed
    expect(await silences.remove(silenceId)).toBe(true);
    expect(await silences.list()).toHaveLength(0);
  });

  it('posts a signed JSON webhook to a local HTTP server', async () => {
    const received: { body: string; signature: string | undefined }[] = [];
    let fail = 1; // the first call answers 503: retried
    const server: Server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (fail-- > 0) {
          res.writeHead(503).end();
          return;
        }
        received.push({ body: Buffer.concat(chunks).toString('utf8'), signature: req.headers['x-watched-signature'] as string | undefined });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      await startAlerter({
        alertReceivers: [{ name: 'hook', plugin: 'webhook', options: { url: `http://127.0.0.1:${port}/alerts`, secret: 's3cret', timeoutMs: 2000 } }],
        alertRoutes: [{ match: { severity: 'warning', host: 'web*' }, receivers: ['hook'] }],
      });
      const opened = await openThreshold(7, Date.now());
      await sink.publish([opened]);
      await waitFor('the webhook call', () => received.length === 1, 10_000);
      const { body, signature } = received[0];
      expect(signature).toBe(webhookSignature('s3cret', body));
      const parsed = JSON.parse(body) as WebhookBody;
      expect(parsed.receiver).toBe('hook');
      expect(parsed.events).toHaveLength(1);
      expect(parsed.events[0]).toMatchObject({ kind: 'threshold', transition: 'opened', host: 'web1', severity: 'Warning', resourceType: 'disk_usage', property: 'pctfree', value: 7, threshold: 25, oper: '<' });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('reminds of a still-open event of a repeat severity every repeat interval, until it closes', async () => {
    // earlier tests' events end: only this one is still open
    await env.pool.query('UPDATE `h$res_events` SET end_time = start_time + 1 WHERE end_time IS NULL');
    const smtp = await startSmtp();
    const alerter = await startAlerter({ alertReceivers: [mailReceiver(smtp.port)], alertRepeatInterval: '700ms', alertRepeatSeverities: 'Warning' });
    const opened = await openThreshold(2, Date.now());
    await sink.publish([opened]);
    await waitFor('the opening and a reminder', () => smtp.mails.length >= 2, 10_000);
    expect(smtp.mails[1].subject).toContain('still open (reminder 1)');
    await sink.publish([await closeThreshold(opened, Date.now())]);
    await waitFor('the closing', () => smtp.mails.some((m) => m.subject.includes('closed')), 10_000);
    const count = smtp.mails.length;
    await sleep(1500); // two intervals: no reminder once closed
    expect(smtp.mails).toHaveLength(count);
    expect(alerter.stats.reminders).toBeGreaterThanOrEqual(1);
  });

  it('refuses a receiver with invalid options at start-up, naming it', async () => {
    await expect(startAlerter({ alertReceivers: [{ name: 'ops', plugin: 'email', options: { port: 25 } }] })).rejects.toThrow(/receiver ops \(email\).*host/);
    await expect(startAlerter({ alertReceivers: [{ name: 'ops', plugin: 'sms', options: {} }] })).rejects.toThrow(/unknown plugin sms/);
  });
});
