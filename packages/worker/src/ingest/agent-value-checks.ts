import { codePoints, columnChars, cutToChars, isWellFormed, type AgentColumn } from './column-shapes.js';
import type { ResourceSpec } from './catalog.js';
import type { AgentSnapshot } from './snapshot.js';

/** What checking one answer against the schema found. */
export interface ValueCheck {
  /** A name that cannot be stored as sent: the poll is refused with this reason. */
  refused?: string;
  /** Values cut or repaired to fit their column (descriptions, a few), the rest stored as sent. */
  fitted: string[];
  /** How many values were cut or repaired. */
  fittedCount: number;
}

const PREVIEW_CHARS = 40;

function preview(value: string): string {
  return JSON.stringify(cutToChars(value, PREVIEW_CHARS).replace(/[\ud800-\udfff]/g, '\ufffd')) + (codePoints(value) > PREVIEW_CHARS ? '...' : '');
}

/**
 * Resources (from an agent's cached catalog, never changed once read) whose
 * names were found to fit: checked once per resource rather than once per
 * poll. The answer is a function of the names alone, so it holds for every
 * later poll; a resource that does not fit is never added and is refused
 * again each time.
 */
const fittingResources = new WeakSet<ResourceSpec>();

/**
 * Checks every value of an answer that lands in a column against that
 * column's shape (AGENT_COLUMNS), before anything is written.
 *
 * - Names that are keys (host, service id and type, resource, process and
 *   socket names, log source and date mark) are refused when they do not
 *   fit: a cut name would be a different entity, or merge two. The reason
 *   names the field, its column and its limit.
 * - Descriptive values (paths, user, status, log text) are cut to their
 *   column, on a character boundary, and counted.
 * - Lone surrogates (JSON `"\ud800"`) have no UTF-8 form: refused in a
 *   name, replaced by U+FFFD in a description.
 *
 * Numbers are range-checked where they are read (snapshot.ts: finite
 * values for DOUBLE, INT UNSIGNED pids and line numbers), and data type and
 * property names are validated identifiers (catalog.ts).
 */
export function checkAgentValues(snapshot: AgentSnapshot): ValueCheck {
  const check: ValueCheck = { fitted: [], fittedCount: 0 };
  const key = (field: string, column: AgentColumn, value: string): boolean => {
    if (check.refused) return false;
    const chars = columnChars(column);
    if (!isWellFormed(value)) {
      check.refused = `${field} is not valid Unicode (a lone surrogate, which ${column} cannot hold): ${preview(value)}`;
    } else if (codePoints(value) > chars) {
      check.refused = `${field} longer than ${chars} characters (${column}): ${preview(value)}`;
    }
    return !check.refused;
  };
  const fit = (field: string, column: AgentColumn, value: string): string => {
    const chars = columnChars(column);
    let fitted = value;
    if (!isWellFormed(fitted)) fitted = fitted.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
    if (codePoints(fitted) > chars) fitted = cutToChars(fitted, chars);
    if (fitted !== value) {
      check.fittedCount += 1;
      if (check.fitted.length < 3) check.fitted.push(`${field} cut to ${chars} characters or repaired (${column})`);
    }
    return fitted;
  };
  const fitNullable = (field: string, column: AgentColumn, value: string | null) => (value === null ? null : fit(field, column, value));

  for (const { resource, host } of snapshot.metrics) {
    // The host is the series' own (agents share a catalog's resources); the resource's names are checked once.
    if (resource.scope === 'system' && !key('host name', 'h$hosts.name', host)) break;
    if (fittingResources.has(resource)) continue;
    if (!key('resource name', 'c$ressources.name', resource.name)) break;
    if (resource.service !== undefined && !key('service id', 's$services.name', resource.service)) break;
    fittingResources.add(resource);
  }
  for (const service of snapshot.services) {
    if (check.refused) break;
    if (!key('service id', 's$services.name', service.id)) break;
    if (!key(`host name of service ${preview(service.id)}`, 'h$hosts.name', service.host)) break;
    if (!key(`type of service ${preview(service.id)}`, 's$types.name', service.type)) break;
    for (const p of service.process) {
      if (!key('process name', 's$process.name', p.name)) break;
      p.fullPath = fitNullable('process full_path', 's$process.full_path', p.fullPath);
      p.cwd = fitNullable('process cwd', 's$process.cwd', p.cwd);
      p.username = fitNullable('process username', 's$process.username', p.username);
      p.status = fit('process status', 's$process.status', p.status);
    }
    for (const s of service.sockets) {
      if (!key('socket name', 's$sockets.name', s.name)) break;
      s.status = fit('socket status', 's$sockets.status', s.status);
    }
    for (const entry of service.logs) {
      if (!key('log source', 's$log_events.source_name', entry.source)) break;
      if (!key('log date_mark', 's$log_events.date_field', entry.dateMark)) break;
      entry.text = fit('log text', 's$log_events.text', entry.text);
    }
  }
  return check;
}
