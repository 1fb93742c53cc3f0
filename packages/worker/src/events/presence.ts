import type { PoolConnection, RowDataPacket } from '@watched/core';
import { insertBatched } from '../sql-batch.js';
import type { MonitoringEvent } from './event-sink.js';

export type StateEventKind = 'host-missing' | 'service-failed' | 'service-missing';

export interface PresenceInput {
  agentId: number;
  pollTime: number;
  /** The job's slot: key of the `s$history` rows written for absent services. */
  slot: number;
  /** Hosts this poll brought data or services for. */
  hostIds: number[];
  /** Services this poll reported, with the names of their processes/sockets not ok. */
  services: Array<{ servId: number; notOk: string[] }>;
  /** How long a host or service may go unreported before it counts as missing. */
  missingAfterMs: number;
}

/**
 * Host-missing, service-failed and service-missing events, evaluated in the
 * poll's transaction: a reported service opens or closes `service-failed`; a
 * service of the agent's hosts that is no longer reported gets an `s$history`
 * row counting its process/socket rows as missing (as upstream) and, past the
 * limit, a `service-missing` event; a host of the agent that stopped being
 * reported past the limit gets `host-missing`.
 */
export async function applyPresence(conn: PoolConnection, input: PresenceInput): Promise<MonitoringEvent[]> {
  const changes: MonitoringEvent[] = [];
  const cutoff = input.pollTime - input.missingAfterMs;
  await insertBatched(
    conn,
    {
      table: 'agt$hosts',
      columns: ['agt_id', 'host_id', 'last_seen'],
      rows: [...new Set(input.hostIds)].sort((a, b) => a - b).map((h) => [input.agentId, h, input.pollTime]),
      mode: 'upsert',
      updateColumns: ['last_seen'],
    },
    1000,
  );
  const [hosts] = await conn.query<RowDataPacket[]>('SELECT host_id, last_seen FROM `agt$hosts` WHERE agt_id = ?', [input.agentId]);
  const [absentServices] = hosts.length
    ? await conn.query<RowDataPacket[]>('SELECT id FROM `s$services` WHERE host_id IN (?)', [hosts.map((h) => h.host_id)])
    : [[] as RowDataPacket[]];
  // Open events of this agent's hosts and services, read once (and locked) instead of per owner.
  const serviceIds = [...new Set([...input.services.map((s) => s.servId), ...absentServices.map((s) => Number(s.id))])];
  const [openRows] = await conn.query<RowDataPacket[]>(
    "SELECT id, kind, owner_id FROM `c$state_events` WHERE end_time IS NULL AND " +
      "((kind = 'host-missing' AND owner_id IN (?)) OR (kind <> 'host-missing' AND owner_id IN (?))) FOR UPDATE",
    [hosts.length ? hosts.map((h) => h.host_id) : [0], serviceIds.length ? serviceIds : [0]],
  );
  const openIds = new Map(openRows.map((r) => [`${r.kind}/${r.owner_id}`, Number(r.id)]));
  const close = async (kind: StateEventKind, ownerId: number, time: number): Promise<MonitoringEvent[]> => {
    const id = openIds.get(`${kind}/${ownerId}`);
    if (id === undefined) return [];
    openIds.delete(`${kind}/${ownerId}`);
    await conn.query('UPDATE `c$state_events` SET end_time = ? WHERE id = ?', [time, id]);
    return [{ kind, transition: 'closed', id, table: 'c$state_events', time, detail: { ownerId } }];
  };
  const open = async (kind: StateEventKind, ownerId: number, start: number, detail: string): Promise<MonitoringEvent[]> =>
    openIds.has(`${kind}/${ownerId}`) ? [] : openEvent(conn, kind, ownerId, start, detail);
  for (const host of hosts) {
    if (host.last_seen < cutoff) changes.push(...(await open('host-missing', host.host_id, host.last_seen, 'no data from this host')));
    else changes.push(...(await close('host-missing', host.host_id, input.pollTime)));
  }

  const reported = new Set(input.services.map((s) => s.servId));
  for (const service of input.services) {
    changes.push(...(await close('service-missing', service.servId, input.pollTime)));
    if (service.notOk.length) {
      changes.push(...(await open('service-failed', service.servId, input.pollTime, `not ok: ${service.notOk.join(', ')}`)));
    } else {
      changes.push(...(await close('service-failed', service.servId, input.pollTime)));
    }
  }

  const hostIds = hosts.map((h) => Number(h.host_id));
  if (hostIds.length === 0) return changes;
  const [absent] = await conn.query<RowDataPacket[]>(
    'SELECT s.id, ' +
      '(SELECT COUNT(*) FROM `s$process` p WHERE p.serv_id = s.id) + (SELECT COUNT(*) FROM `s$sockets` k WHERE k.serv_id = s.id) AS items, ' +
      'GREATEST(COALESCE((SELECT MAX(p.timestamp) FROM `s$process` p WHERE p.serv_id = s.id), 0), ' +
      'COALESCE((SELECT MAX(k.timestamp) FROM `s$sockets` k WHERE k.serv_id = s.id), 0)) AS last_seen ' +
      'FROM `s$services` s WHERE s.host_id IN (?)',
    [hostIds],
  );
  const history: Array<Array<number>> = [];
  for (const service of absent) {
    if (reported.has(Number(service.id))) continue;
    history.push([service.id, input.slot, 0, Number(service.items), 0]);
    if (service.last_seen < cutoff) {
      changes.push(...(await open('service-missing', service.id, service.last_seen, 'service no longer reported')));
    }
  }
  await insertBatched(
    conn,
    {
      table: 's$history',
      columns: ['serv_id', 'timestamp', 'failed', 'missing', 'ok'],
      rows: history,
      mode: 'upsert',
      updateColumns: ['failed', 'missing', 'ok'],
    },
    1000,
  );
  return changes;
}

async function openEvent(conn: PoolConnection, kind: StateEventKind, ownerId: number, start: number, detail: string): Promise<MonitoringEvent[]> {
  const [result] = await conn.query('INSERT IGNORE INTO `c$state_events` (kind, owner_id, start_time, detail) VALUES (?, ?, ?, ?)', [
    kind,
    ownerId,
    start,
    detail.slice(0, 1024),
  ]);
  const { affectedRows, insertId } = result as { affectedRows: number; insertId: number };
  if (affectedRows === 0) return []; // already open
  return [{ kind, transition: 'opened', id: insertId, table: 'c$state_events', time: start, detail: { ownerId, detail } }];
}
