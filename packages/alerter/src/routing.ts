import type { Pool, RowDataPacket } from '@watched/core';
import type { RouteConfig } from './alerter-options.js';
import type { AlertEvent } from './notification.js';
import { globMatch } from './glob.js';

/** Receiver key of an address from upstream's permission model. */
export const PERMISSION_PREFIX = 'perm:';

function matches(route: RouteConfig, e: AlertEvent): boolean {
  const m = route.match;
  const test = (patterns: string[] | undefined, value: string | null) => !patterns || patterns.some((p) => globMatch(p, value));
  return (
    test(m.host, e.host) && test(m.service, e.service) && test(m.serviceType, e.serviceType) &&
    test(m.resourceType, e.resourceType) && test(m.severity, e.severity) && test(m.kind, e.kind) &&
    test(m.transition, e.transition)
  );
}

/** Receivers named by the config routes: in order, the first match decides unless it has `continue: true`. */
export function routeByConfig(routes: RouteConfig[], event: AlertEvent): string[] {
  const out: string[] = [];
  for (const route of routes) {
    if (!matches(route, event)) continue;
    for (const r of route.receivers) if (!out.includes(r)) out.push(r);
    if (!route.continue) break;
  }
  return out;
}

/**
 * Addresses upstream alerted for this event: the `email` property of the teams
 * and users with an `alert` flag on its host (`p$alert_hosts`) or service
 * (`p$alert_services`), as watched.back did. Agent-failed events have no host
 * id and get none.
 */
export async function routeByPermissions(pool: Pool, event: AlertEvent): Promise<string[]> {
  const ids = event.serviceId !== null ? { view: 'p$alert_services', col: 'serv_id', id: event.serviceId } :
    event.hostId !== null ? { view: 'p$alert_hosts', col: 'host_id', id: event.hostId } : null;
  if (!ids) return [];
  const [rows] = await pool.query<(RowDataPacket & { value: string })[]>(
    `SELECT DISTINCT a.value FROM \`${ids.view}\` a JOIN \`c$properties\` p ON p.id = a.prop_id ` +
      `WHERE p.name = 'email' AND a.\`${ids.col}\` = ? AND a.value IS NOT NULL AND a.value <> ''`,
    [ids.id],
  );
  return rows.map((r) => `${PERMISSION_PREFIX}${r.value.trim().toLowerCase()}`).filter((k) => k.length <= 320);
}
