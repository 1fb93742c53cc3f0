import type { PoolConnection, RowDataPacket } from '@watched/core';
import { insertBatched } from '../sql-batch.js';
import type { MonitoringEvent } from '@watched/core';

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
 *
 * Every agent of a write batch is evaluated together: the same reads and
 * writes as for one agent, with IN lists over all of them (about six
 * statements per batch instead of per agent), then each agent's decisions
 * in order, as if they had run one after the other. The costly count of an
 * absent service's process and socket rows runs only for services that are
 * absent (none, while every agent reports all its services).
 */
export async function applyPresence(conn: PoolConnection, inputs: PresenceInput[]): Promise<MonitoringEvent[]> {
  if (inputs.length === 0) return [];
  const seenRows: Array<[number, number, number]> = [];
  for (const input of inputs) for (const h of new Set(input.hostIds)) seenRows.push([input.agentId, h, input.pollTime]);
  seenRows.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  await insertBatched(
    conn,
    { table: 'agt$hosts', columns: ['agt_id', 'host_id', 'last_seen'], rows: seenRows, mode: 'upsert', updateColumns: ['last_seen'] },
    1000,
  );
  const agentIds = [...new Set(inputs.map((i) => i.agentId))];
  const [hostRows] = await conn.query<RowDataPacket[]>('SELECT agt_id, host_id, last_seen FROM `agt$hosts` WHERE agt_id IN (?)', [agentIds]);
  const hostsOf = new Map<number, Array<{ hostId: number; lastSeen: number }>>();
  for (const row of hostRows) {
    const list = hostsOf.get(Number(row.agt_id)) ?? [];
    list.push({ hostId: Number(row.host_id), lastSeen: Number(row.last_seen) });
    hostsOf.set(Number(row.agt_id), list);
  }
  const allHosts = [...new Set(hostRows.map((r) => Number(r.host_id)))];
  const [serviceRows] = allHosts.length
    ? await conn.query<RowDataPacket[]>('SELECT id, host_id FROM `s$services` WHERE host_id IN (?)', [allHosts])
    : [[] as RowDataPacket[]];
  const servicesOfHost = new Map<number, number[]>();
  for (const row of serviceRows) {
    const list = servicesOfHost.get(Number(row.host_id)) ?? [];
    list.push(Number(row.id));
    servicesOfHost.set(Number(row.host_id), list);
  }
  // Open events of every agent's hosts and services, read once (and locked) instead of per owner.
  const allServices = [...new Set([...inputs.flatMap((i) => i.services.map((s) => s.servId)), ...serviceRows.map((r) => Number(r.id))])];
  const [openRows] = await conn.query<RowDataPacket[]>(
    "SELECT id, kind, owner_id FROM `c$state_events` WHERE end_time IS NULL AND " +
      // `kind IN (...)`, not `kind <> ...`: a key range, where `<>` scans (and FOR UPDATE locks) every event ever recorded.
      "((kind = 'host-missing' AND owner_id IN (?)) OR (kind IN ('service-failed', 'service-missing') AND owner_id IN (?))) FOR UPDATE",
    [allHosts.length ? allHosts : [0], allServices.length ? allServices : [0]],
  );
  const openIds = new Map(openRows.map((r) => [`${r.kind}/${r.owner_id}`, Number(r.id)]));
  const close = async (kind: StateEventKind, ownerId: number, time: number): Promise<MonitoringEvent[]> => {
    const id = openIds.get(`${kind}/${ownerId}`);
    if (id === undefined) return [];
    openIds.delete(`${kind}/${ownerId}`);
    await conn.query('UPDATE `c$state_events` SET end_time = ? WHERE id = ?', [time, id]);
    return [{ kind, transition: 'closed', id, table: 'c$state_events', time, detail: { ownerId } }];
  };
  const open = async (kind: StateEventKind, ownerId: number, start: number, detail: string): Promise<MonitoringEvent[]> => {
    if (openIds.has(`${kind}/${ownerId}`)) return [];
    const opened = await openEvent(conn, kind, ownerId, start, detail);
    // Seen by the next agents of the batch, as a later transaction would have seen it.
    for (const event of opened) openIds.set(`${kind}/${ownerId}`, event.id);
    return opened;
  };

  // Services of each agent's hosts that the agent did not report; counted below, only if there are any.
  const absentOf = new Map<PresenceInput, number[]>();
  for (const input of inputs) {
    const reported = new Set(input.services.map((s) => s.servId));
    const absent = (hostsOf.get(input.agentId) ?? []).flatMap((h) => servicesOfHost.get(h.hostId) ?? []).filter((id) => !reported.has(id));
    if (absent.length) absentOf.set(input, absent);
  }
  const absentIds = [...new Set([...absentOf.values()].flat())];
  const [absentRows] = absentIds.length
    ? await conn.query<RowDataPacket[]>(
        'SELECT s.id, ' +
          '(SELECT COUNT(*) FROM `s$process` p WHERE p.serv_id = s.id) + (SELECT COUNT(*) FROM `s$sockets` k WHERE k.serv_id = s.id) AS items, ' +
          'GREATEST(COALESCE((SELECT MAX(p.timestamp) FROM `s$process` p WHERE p.serv_id = s.id), 0), ' +
          'COALESCE((SELECT MAX(k.timestamp) FROM `s$sockets` k WHERE k.serv_id = s.id), 0)) AS last_seen ' +
          'FROM `s$services` s WHERE s.id IN (?)',
        [absentIds],
      )
    : [[] as RowDataPacket[]];
  const absentInfo = new Map(absentRows.map((r) => [Number(r.id), { items: Number(r.items), lastSeen: Number(r.last_seen) }]));

  const changes: MonitoringEvent[] = [];
  const history: Array<Array<number>> = [];
  for (const input of inputs) {
    const cutoff = input.pollTime - input.missingAfterMs;
    for (const host of hostsOf.get(input.agentId) ?? []) {
      if (host.lastSeen < cutoff) changes.push(...(await open('host-missing', host.hostId, host.lastSeen, 'no data from this host')));
      else changes.push(...(await close('host-missing', host.hostId, input.pollTime)));
    }
    for (const service of input.services) {
      changes.push(...(await close('service-missing', service.servId, input.pollTime)));
      if (service.notOk.length) {
        changes.push(...(await open('service-failed', service.servId, input.pollTime, `not ok: ${service.notOk.join(', ')}`)));
      } else {
        changes.push(...(await close('service-failed', service.servId, input.pollTime)));
      }
    }
    for (const servId of absentOf.get(input) ?? []) {
      const info = absentInfo.get(servId);
      if (!info) continue;
      history.push([servId, input.slot, 0, info.items, 0]);
      if (info.lastSeen < cutoff) changes.push(...(await open('service-missing', servId, info.lastSeen, 'service no longer reported')));
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
