import type { BatchInsert } from '../sql-batch.js';
import type { ServiceSnapshot } from './snapshot.js';

/** Upstream: a status is ok when it starts with `ok`. */
export function isOkStatus(status: string): boolean {
  return status.startsWith('ok');
}

/** The names of a service's processes and sockets that are not ok (service-failed events). */
export function notOkItems(service: ServiceSnapshot): string[] {
  return [...service.process, ...service.sockets].filter((x) => !isOkStatus(x.status)).map((x) => x.name);
}

/**
 * Current process and socket state (upserted, stamped with the poll time so
 * the front sees fresh rows) and one `s$history` row per service keyed by
 * the job's slot, so a retried job overwrites instead of adding.
 */
export function serviceInserts(
  services: Array<{ service: ServiceSnapshot; servId: number }>,
  pollTime: number,
  slot: number,
): BatchInsert[] {
  const process: BatchInsert = {
    table: 's$process',
    columns: ['serv_id', 'name', 'full_path', 'cwd', 'username', 'pid', 'status', 'timestamp'],
    rows: [],
    mode: 'upsert',
    updateColumns: ['full_path', 'cwd', 'username', 'pid', 'status', 'timestamp'],
  };
  const sockets: BatchInsert = {
    table: 's$sockets',
    columns: ['serv_id', 'name', 'status', 'timestamp'],
    rows: [],
    mode: 'upsert',
    updateColumns: ['status', 'timestamp'],
  };
  const history: BatchInsert = {
    table: 's$history',
    columns: ['serv_id', 'timestamp', 'failed', 'missing', 'ok'],
    rows: [],
    mode: 'upsert',
    updateColumns: ['failed', 'missing', 'ok'],
  };
  for (const { service, servId } of services) {
    let ok = 0;
    let failed = 0;
    for (const p of service.process) {
      const good = isOkStatus(p.status);
      if (good) ok += 1;
      else failed += 1;
      // Upstream stores pid 0 for a process that is not running.
      // Every value already fits its column (agent-value-checks).
      process.rows.push([servId, p.name, p.fullPath, p.cwd, p.username, good ? p.pid : 0, p.status, pollTime]);
    }
    for (const s of service.sockets) {
      if (isOkStatus(s.status)) ok += 1;
      else failed += 1;
      sockets.rows.push([servId, s.name, s.status, pollTime]);
    }
    history.rows.push([servId, slot, failed, 0, ok]);
  }
  return [process, sockets, history];
}
