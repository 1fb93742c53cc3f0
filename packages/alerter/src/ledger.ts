import { withTransaction, type Pool, type ResultSetHeader, type RowDataPacket } from '@watched/core';
import type { AlertEvent } from './notification.js';
import { summarize } from './render.js';

/** The nth reminder of a still-open event. */
function asReminder(event: AlertEvent, round: number): AlertEvent {
  const reminder = { ...event, reminder: round };
  return { ...reminder, summary: summarize(reminder) };
}

/**
 * The alerter's MySQL records (migration 0006): `c$alert_events` dedups event
 * transitions, `c$alert_deliveries` is the outbox, one row per (transition,
 * receiver), sent or not.
 */
export interface RecordResult {
  /** False when this transition was already recorded (a duplicate publish or a retried job). */
  fresh: boolean;
  /** Receivers still owed this transition (not sent, not failed). */
  pending: string[];
  silenceId: number | null;
}

export async function recordEvent(
  pool: Pool,
  event: AlertEvent,
  receivedAt: number,
  silenceId: number | null,
  receivers: string[],
): Promise<RecordResult> {
  return withTransaction(pool, async (conn) => {
    const key = [event.table, event.id, event.transition];
    const [inserted] = await conn.query<ResultSetHeader>(
      'INSERT IGNORE INTO `c$alert_events` (event_table, event_id, transition, kind, event_time, received_at, host, service, res_type, severity, silence_id, payload) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [...key, event.kind, event.time, receivedAt, event.host, event.service, event.resourceType, event.severity, silenceId, JSON.stringify(event)],
    );
    const fresh = inserted.affectedRows === 1;
    if (fresh && receivers.length) {
      await conn.query(
        'INSERT IGNORE INTO `c$alert_deliveries` (event_table, event_id, transition, receiver, created_at) VALUES ?',
        [receivers.map((r) => [...key, r, receivedAt])],
      );
    }
    const [ledger] = await conn.query<(RowDataPacket & { silence_id: number | null })[]>(
      'SELECT silence_id FROM `c$alert_events` WHERE event_table = ? AND event_id = ? AND transition = ?',
      key,
    );
    const [pending] = await conn.query<(RowDataPacket & { receiver: string })[]>(
      'SELECT receiver FROM `c$alert_deliveries` WHERE event_table = ? AND event_id = ? AND transition = ? AND sent_at IS NULL AND failed_at IS NULL',
      key,
    );
    return { fresh, pending: pending.map((r) => r.receiver), silenceId: ledger[0]?.silence_id ?? null };
  });
}

export interface ClaimedDelivery {
  id: number;
  event: AlertEvent;
}

/**
 * Takes up to `limit` unsent rows of a receiver for the delivery job `token`
 * until `holdUntil`: unclaimed ones, its own from an earlier attempt, or ones
 * whose holder let its hold expire (a crashed alerter, a lost job).
 */
export async function claimDeliveries(
  pool: Pool,
  receiver: string,
  token: string,
  now: number,
  holdUntil: number,
  limit: number,
): Promise<ClaimedDelivery[]> {
  await pool.query(
    'UPDATE `c$alert_deliveries` SET claim = ?, held_until = ?, attempts = attempts + 1 ' +
      'WHERE receiver = ? AND sent_at IS NULL AND failed_at IS NULL AND (claim IS NULL OR claim = ? OR held_until < ?) ORDER BY id LIMIT ?',
    [token, holdUntil, receiver, token, now, limit],
  );
  const [rows] = await pool.query<(RowDataPacket & { id: number; round: number; payload: string })[]>(
    'SELECT d.id, d.round, e.payload FROM `c$alert_deliveries` d JOIN `c$alert_events` e ' +
      'ON e.event_table = d.event_table AND e.event_id = d.event_id AND e.transition = d.transition ' +
      'WHERE d.receiver = ? AND d.claim = ? AND d.sent_at IS NULL ORDER BY e.event_time, d.id',
    [receiver, token],
  );
  return rows.map((r) => {
    const event = JSON.parse(r.payload) as AlertEvent;
    const round = Number(r.round);
    return { id: Number(r.id), event: round > 0 ? asReminder(event, round) : event };
  });
}

export async function markSent(pool: Pool, ids: number[], now: number): Promise<void> {
  if (!ids.length) return;
  await pool.query('UPDATE `c$alert_deliveries` SET sent_at = ?, claim = NULL, last_error = NULL WHERE id IN (?)', [now, ids]);
}

/**
 * After a failed send: the job keeps its rows until `holdUntil` (past its next
 * retry), or, when `final`, marks them failed (no automatic retry any more).
 * Returns the rows concerned.
 */
export async function failDeliveries(pool: Pool, token: string, error: string, final: boolean, now: number, holdUntil: number): Promise<number> {
  const [result] = await pool.query<ResultSetHeader>(
    'UPDATE `c$alert_deliveries` SET last_error = ?, failed_at = ?, claim = IF(?, NULL, claim), held_until = IF(?, NULL, ?) ' +
      'WHERE claim = ? AND sent_at IS NULL',
    [error.slice(0, 1024), final ? now : null, final, final, holdUntil, token],
  );
  return result.affectedRows;
}

/**
 * Receivers owed something no delivery job holds (its job was lost: a crash
 * between the ledger and the queue, a Redis restart), for the sweeper.
 */
export async function orphanReceivers(pool: Pool, createdBefore: number, now: number): Promise<string[]> {
  const [rows] = await pool.query<(RowDataPacket & { receiver: string })[]>(
    'SELECT DISTINCT receiver FROM `c$alert_deliveries` WHERE sent_at IS NULL AND failed_at IS NULL ' +
      'AND ((claim IS NULL AND created_at < ?) OR held_until < ?) LIMIT 1000',
    [createdBefore, now],
  );
  return rows.map((r) => r.receiver);
}

export interface RepeatCandidate {
  table: string;
  id: number;
  receiver: string;
  round: number;
  severity: string;
  payload: string;
}

/**
 * Openings of `severities` whose newest message to a receiver (all rounds
 * sent) is older than `sentBefore` and whose closing the ledger has not seen.
 */
export async function repeatCandidates(pool: Pool, severities: string[], sentBefore: number, limit = 1000): Promise<RepeatCandidate[]> {
  if (!severities.length) return [];
  const [rows] = await pool.query<(RowDataPacket & { event_table: string; event_id: number; receiver: string; round: number; severity: string; payload: string })[]>(
    'SELECT d.event_table, d.event_id, d.receiver, MAX(d.round) AS round, e.severity, e.payload ' +
      'FROM `c$alert_deliveries` d JOIN `c$alert_events` e ' +
      "ON e.event_table = d.event_table AND e.event_id = d.event_id AND e.transition = d.transition " +
      "WHERE d.transition = 'opened' AND LOWER(e.severity) IN (?) AND NOT EXISTS (SELECT 1 FROM `c$alert_events` c " +
      "WHERE c.event_table = d.event_table AND c.event_id = d.event_id AND c.transition = 'closed') " +
      'GROUP BY d.event_table, d.event_id, d.receiver, e.severity, e.payload ' +
      'HAVING COUNT(d.sent_at) = COUNT(*) AND MAX(d.sent_at) < ? LIMIT ?',
    [severities.map((x) => x.toLowerCase()), sentBefore, limit],
  );
  return rows.map((r) => ({ table: r.event_table, id: Number(r.event_id), receiver: r.receiver, round: Number(r.round), severity: r.severity, payload: r.payload }));
}

/** Adds reminder `round` for a receiver; false if another alerter added it first. */
export async function addReminder(pool: Pool, c: RepeatCandidate, round: number, now: number): Promise<boolean> {
  const [r] = await pool.query<ResultSetHeader>(
    "INSERT IGNORE INTO `c$alert_deliveries` (event_table, event_id, transition, receiver, round, created_at) VALUES (?, ?, 'opened', ?, ?, ?)",
    [c.table, c.id, c.receiver, round, now],
  );
  return r.affectedRows === 1;
}

const OPEN_SQL: Record<string, string> = {
  'h$res_events': 'SELECT end_time FROM `h$res_events` WHERE id = ?',
  's$res_events': 'SELECT end_time FROM `s$res_events` WHERE id = ?',
  'agt$events': 'SELECT end_time FROM `agt$events` WHERE id = ?',
  'c$state_events': 'SELECT end_time FROM `c$state_events` WHERE id = ?',
};

/** Is the source event still open (row present, no end time)? */
export async function stillOpen(pool: Pool, table: string, id: number): Promise<boolean> {
  const sql = OPEN_SQL[table];
  if (!sql) return false;
  const [rows] = await pool.query<(RowDataPacket & { end_time: number | null })[]>(sql, [id]);
  return rows.length === 1 && rows[0].end_time === null;
}

/**
 * Ledger retention: removes transitions that arrived before `receivedBefore`
 * and owe nothing any more (every delivery sent before it too, so an event
 * still getting reminders stays; or none: silenced, unrouted),
 * with their delivery rows (cascade), at most `limit` per call. Rows still
 * owed or given up (`failed_at`) stay until someone deals with them.
 * Returns the number of transitions removed.
 */
export async function purgeLedger(pool: Pool, receivedBefore: number, limit = 1000): Promise<number> {
  const [rows] = await pool.query<(RowDataPacket & { event_table: string; event_id: number; transition: string })[]>(
    'SELECT e.event_table, e.event_id, e.transition FROM `c$alert_events` e WHERE e.received_at < ? AND NOT EXISTS ' +
      '(SELECT 1 FROM `c$alert_deliveries` d WHERE d.event_table = e.event_table AND d.event_id = e.event_id ' +
      'AND d.transition = e.transition AND (d.sent_at IS NULL OR d.sent_at >= ?)) LIMIT ?',
    [receivedBefore, receivedBefore, limit],
  );
  if (!rows.length) return 0;
  const [result] = await pool.query<ResultSetHeader>(
    'DELETE FROM `c$alert_events` WHERE (event_table, event_id, transition) IN (?)',
    [rows.map((r) => [r.event_table, r.event_id, r.transition])],
  );
  return result.affectedRows;
}
