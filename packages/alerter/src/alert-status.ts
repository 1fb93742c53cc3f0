import type { Queue } from 'bullmq';
import type { Pool, RowDataPacket } from '@watched/core';

/** What `watched status` (or a metric) can show about alerting. */
export interface AlertStatus {
  /** Delivery rows owed (not sent, not given up). */
  pendingDeliveries: number;
  /** Arrival of the oldest owed row (epoch ms), null when none. */
  oldestPendingAt: number | null;
  /** Delivery rows given up after their job's last attempt (`failed_at`). */
  failedDeliveries: number;
  /** The most recently given-up delivery, null when none. */
  latestFailure: { receiver: string; failedAt: number; attempts: number; error: string | null; event: string } | null;
  /** Jobs of the `alerts` queue by state (failed ones stay for --alert-failed-retention). */
  jobs?: { waiting: number; delayed: number; active: number; failed: number };
}

function summaryOf(payload: string): string {
  try {
    return String((JSON.parse(payload) as { summary?: unknown }).summary ?? '?');
  } catch {
    return '?';
  }
}

/** Reads the alerting backlog from MySQL and, given the `alerts` queue, its job counts. */
export async function readAlertStatus(pool: Pool, queue?: Queue): Promise<AlertStatus> {
  const [rows] = await pool.query<(RowDataPacket & { pending: number; oldest: number | null; failed: number })[]>(
    'SELECT COALESCE(SUM(sent_at IS NULL AND failed_at IS NULL), 0) AS pending, ' +
      'MIN(IF(sent_at IS NULL AND failed_at IS NULL, created_at, NULL)) AS oldest, ' +
      'COALESCE(SUM(failed_at IS NOT NULL AND sent_at IS NULL), 0) AS failed FROM `c$alert_deliveries`',
  );
  const r = rows[0];
  const status: AlertStatus = {
    pendingDeliveries: Number(r?.pending ?? 0),
    oldestPendingAt: r?.oldest === null || r?.oldest === undefined ? null : Number(r.oldest),
    failedDeliveries: Number(r?.failed ?? 0),
    latestFailure: null,
  };
  if (status.failedDeliveries > 0) {
    const [latest] = await pool.query<RowDataPacket[]>(
      'SELECT d.receiver, d.failed_at, d.attempts, d.last_error, e.payload FROM `c$alert_deliveries` d JOIN `c$alert_events` e ' +
        'ON e.event_table = d.event_table AND e.event_id = d.event_id AND e.transition = d.transition ' +
        'WHERE d.failed_at IS NOT NULL AND d.sent_at IS NULL ORDER BY d.failed_at DESC, d.id DESC LIMIT 1',
    );
    const l = latest[0];
    if (l) {
      status.latestFailure = {
        receiver: String(l.receiver),
        failedAt: Number(l.failed_at),
        attempts: Number(l.attempts),
        error: l.last_error === null ? null : String(l.last_error),
        event: summaryOf(String(l.payload)),
      };
    }
  }
  if (queue) {
    const counts = await queue.getJobCounts('waiting', 'delayed', 'active', 'failed');
    status.jobs = { waiting: counts.waiting ?? 0, delayed: counts.delayed ?? 0, active: counts.active ?? 0, failed: counts.failed ?? 0 };
  }
  return status;
}
