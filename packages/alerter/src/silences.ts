import type { Pool, ResultSetHeader, RowDataPacket } from '@watched/core';
import type { AlertEvent } from './notification.js';
import { globMatch } from './glob.js';

export const SILENCE_KINDS = ['threshold', 'agent-failed', 'host-missing', 'service-failed', 'service-missing', 'log-event'] as const;

/** A silence or maintenance window: NULL fields match anything, host/service/resType take `*` wildcards. */
export interface Silence {
  id: number;
  host: string | null;
  service: string | null;
  resType: string | null;
  severity: string | null;
  kind: string | null;
  startsAt: number;
  endsAt: number;
  comment: string | null;
  createdBy: string | null;
  createdAt: number;
}

export type NewSilence = Partial<Pick<Silence, 'host' | 'service' | 'resType' | 'severity' | 'kind' | 'comment' | 'createdBy'>> & {
  startsAt?: number;
  endsAt: number;
};

type Row = RowDataPacket & {
  id: number; host: string | null; service: string | null; res_type: string | null; severity: string | null; kind: string | null;
  starts_at: number; ends_at: number; comment: string | null; created_by: string | null; created_at: number;
};

const fromRow = (r: Row): Silence => ({
  id: Number(r.id), host: r.host, service: r.service, resType: r.res_type, severity: r.severity, kind: r.kind,
  startsAt: Number(r.starts_at), endsAt: Number(r.ends_at), comment: r.comment, createdBy: r.created_by, createdAt: Number(r.created_at),
});

/** Does this silence cover the event (time is checked by the caller's query)? */
export function silenceMatches(s: Silence, e: AlertEvent): boolean {
  if (s.kind !== null && s.kind !== e.kind) return false;
  if (s.severity !== null && s.severity.toLowerCase() !== e.severity.toLowerCase()) return false;
  if (s.host !== null && !globMatch(s.host, e.host)) return false;
  if (s.service !== null && !globMatch(s.service, e.service)) return false;
  if (s.resType !== null && !globMatch(s.resType, e.resourceType)) return false;
  return true;
}

/** `c$alert_silences`: written by `watched silence`, read by the alerter for each event. */
export class Silences {
  constructor(private readonly pool: Pool) {}

  async add(silence: NewSilence, now = Date.now()): Promise<number> {
    const startsAt = silence.startsAt ?? now;
    if (!(silence.endsAt > startsAt)) throw new Error('a silence must end after it starts');
    if (silence.kind && !(SILENCE_KINDS as readonly string[]).includes(silence.kind)) {
      throw new Error(`unknown event kind ${silence.kind} (${SILENCE_KINDS.join(', ')})`);
    }
    const [result] = await this.pool.query<ResultSetHeader>(
      'INSERT INTO `c$alert_silences` (host, service, res_type, severity, kind, starts_at, ends_at, comment, created_by, created_at) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        silence.host ?? null, silence.service ?? null, silence.resType ?? null, silence.severity ?? null, silence.kind ?? null,
        startsAt, silence.endsAt, silence.comment ?? null, silence.createdBy ?? null, now,
      ],
    );
    return result.insertId;
  }

  /** Silences not yet ended (all of them with `all`), soonest end first. */
  async list(options: { all?: boolean; now?: number } = {}): Promise<Silence[]> {
    const [rows] = await this.pool.query<Row[]>(
      options.all
        ? 'SELECT * FROM `c$alert_silences` ORDER BY id'
        : 'SELECT * FROM `c$alert_silences` WHERE ends_at > ? ORDER BY ends_at, id',
      [options.now ?? Date.now()],
    );
    return rows.map(fromRow);
  }

  /** Deletes a silence; events it silenced keep its id in `c$alert_events.silence_id`. */
  async remove(id: number): Promise<boolean> {
    const [result] = await this.pool.query<ResultSetHeader>('DELETE FROM `c$alert_silences` WHERE id = ?', [id]);
    return result.affectedRows > 0;
  }

  /** The first silence active at `at` that covers the event, if any. */
  async match(event: AlertEvent, at: number): Promise<Silence | undefined> {
    const [rows] = await this.pool.query<Row[]>(
      'SELECT * FROM `c$alert_silences` WHERE starts_at <= ? AND ends_at > ? ORDER BY id',
      [at, at],
    );
    return rows.map(fromRow).find((s) => silenceMatches(s, event));
  }
}
