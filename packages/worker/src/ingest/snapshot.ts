import { type AgentCatalog, type DataTypeSpec, type ResourceSpec, resourceHost, resourceKey } from './catalog.js';
import { columnChars, INT_UNSIGNED_MAX } from './column-shapes.js';
import { LimitCounter, type AgentLimits } from './limits.js';

/**
 * One metric row as its `d$` table stores it: owner id, res_id, timestamp,
 * then the values aligned with `type.properties` (null: no value). The two
 * ids are 0 until the series' owner and resource are known (metricInserts
 * sets them): the array read from the answer is the row written, with no
 * copy and no wrapper object per row.
 */
export type MetricRow = Array<number | null>;
/** Where a MetricRow holds its timestamp. */
export const ROW_TIMESTAMP = 2;
/** Where a MetricRow's values start (value of property `k` at ROW_VALUES + k). */
export const ROW_VALUES = 3;

/** Rows of one resource. */
export interface MetricSeries {
  resource: ResourceSpec;
  /** The resource's `x-host`: the host a system resource belongs to. */
  host: string;
  type: DataTypeSpec;
  rows: MetricRow[];
}

export interface ProcessState {
  name: string;
  fullPath: string | null;
  cwd: string | null;
  username: string | null;
  pid: number | null;
  status: string;
}

export interface SocketState {
  name: string;
  status: string;
}

export interface LogEntry {
  timestamp: number;
  dateMark: string;
  lineNo: number;
  text: string;
  level: string;
  source: string;
}

export interface ServiceSnapshot {
  id: string;
  host: string;
  type: string;
  process: ProcessState[];
  sockets: SocketState[];
  logs: LogEntry[];
}

/** One parsed `/all` answer. */
export interface AgentSnapshot {
  /** The agent's clock at the answer: the next `since`. */
  timestamp: number;
  metrics: MetricSeries[];
  services: ServiceSnapshot[];
  /**
   * Resources (`system/c/r`) and properties (`type.prop`) present in /all but
   * unknown to the catalog: a reason to read discovery again.
   */
  unknown: string[];
  /** Rows or values dropped as malformed. */
  problems: string[];
  /** Count of values or rows that could not be read. */
  parseErrors: number;
  /** The limit the answer went past (reading stopped there): the poll is refused for it. */
  refused?: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A string field as sent (a number is taken as its text). Never cut here:
 * whether it fits its column is agent-value-checks' decision, which refuses a
 * name that does not fit rather than storing a truncated one.
 */
function text(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

/** A numeric string an agent may send for a metric value. */
const NUMERIC_TEXT = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/** Returned by readValue for what is not a metric value (a unique object: no allocation per value). */
const NOT_A_VALUE: unique symbol = Symbol('not a value');

/**
 * A metric value: finite number, numeric string, or null (the agent's NaN);
 * NOT_A_VALUE otherwise. Called once per value: returns the value itself
 * rather than a wrapper object (no garbage per value).
 */
function readValue(value: unknown): number | null | typeof NOT_A_VALUE {
  if (typeof value === 'number') return Number.isFinite(value) ? value : NOT_A_VALUE;
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' && NUMERIC_TEXT.test(value.trim())) return Number(value);
  return NOT_A_VALUE;
}

/** Fits MySQL's INT UNSIGNED (pids, line numbers). */
function isUnsignedInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= INT_UNSIGNED_MAX;
}

/** Rows dated further ahead of the agent's own clock are refused: they would sit on top of every graph. */
const MAX_FUTURE_MS = 86_400_000;

function readTimestamp(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

class SnapshotReader {
  readonly snapshot: AgentSnapshot;
  private readonly unknownSeen = new Set<string>();
  private readonly counter?: LimitCounter;

  constructor(
    private readonly catalog: AgentCatalog,
    timestamp: number,
    limits?: AgentLimits,
  ) {
    this.snapshot = { timestamp, metrics: [], services: [], unknown: [], problems: [], parseErrors: 0 };
    if (limits) this.counter = new LimitCounter(limits);
  }

  /** Counts toward the limits; false (reading stops) once one is exceeded. */
  private within(kind: 'values' | 'rows' | 'logLines' | 'resources' | 'logChars', n = 1): boolean {
    if (!this.counter) return true;
    const ok = this.counter.add(kind, n);
    if (!ok) this.snapshot.refused ??= this.counter.exceeded;
    return ok;
  }

  private named(kind: string, name: string): boolean {
    if (!this.counter) return true;
    const ok = this.counter.name(kind, name);
    if (!ok) this.snapshot.refused ??= this.counter.exceeded;
    return ok;
  }

  get stopped(): boolean {
    return this.snapshot.refused !== undefined;
  }

  problem(message: string): void {
    this.snapshot.parseErrors += 1;
    if (this.snapshot.problems.length < 20) this.snapshot.problems.push(message);
  }

  readCollectors(collectors: unknown, scope: 'system' | 'service', service?: string): void {
    if (!isObject(collectors)) return;
    for (const [collector, resources] of Object.entries(collectors)) {
      if (!isObject(resources)) continue;
      for (const [resource, rows] of Object.entries(resources)) {
        const key = resourceKey(scope, collector, resource, service);
        const spec = this.catalog.resources.get(key);
        if (!spec) {
          if (Array.isArray(rows) && rows.length > 0 && !this.catalog.undeclared.has(key)) this.snapshot.unknown.push(key);
          continue;
        }
        const type = this.catalog.types.get(spec.dataType);
        if (!type || !Array.isArray(rows)) continue;
        if (this.stopped) return;
        const host = resourceHost(this.catalog, key);
        const series: MetricSeries = { resource: spec, host, type, rows: [] };
        for (const row of rows) {
          if (!this.within('rows') || !this.within('values', type.properties.length)) return;
          this.readRow(series, row, key);
        }
        if (series.rows.length) {
          if (!this.within('resources') || !this.named('resource', key) || !this.named('host', host)) return;
          this.snapshot.metrics.push(series);
        }
      }
    }
  }

  private readRow(series: MetricSeries, row: unknown, key: string): void {
    if (!isObject(row)) return this.problem(`${key}: a row is not an object`);
    const timestamp = readTimestamp(row.timestamp);
    if (timestamp === undefined) return this.problem(`${key}: a row has no valid timestamp`);
    if (timestamp > this.snapshot.timestamp + MAX_FUTURE_MS) {
      return this.problem(`${key}: a row is dated more than a day after the agent's clock`);
    }
    // Names beyond the declared ones (for-in: no array of keys per row). A row's own keys only: JSON.parse
    // makes plain objects, whose prototype has no enumerable members.
    const { declared, properties } = series.type;
    for (const name in row) {
      if (name === 'timestamp' || declared.has(name)) continue;
      const qualified = `${series.type.name}.${name}`;
      if (!this.catalog.undeclared.has(qualified) && !this.unknownSeen.has(qualified)) {
        this.unknownSeen.add(qualified);
        this.snapshot.unknown.push(qualified);
      }
    }
    const out: MetricRow = new Array(ROW_VALUES + properties.length);
    out[0] = 0;
    out[1] = 0;
    out[ROW_TIMESTAMP] = timestamp;
    for (let i = 0; i < properties.length; i++) {
      const prop = properties[i];
      const read = readValue(row[prop]);
      if (read !== NOT_A_VALUE) {
        out[ROW_VALUES + i] = read;
      } else {
        out[ROW_VALUES + i] = null;
        this.problem(`${key}: ${prop} is not a number (${JSON.stringify(row[prop])?.slice(0, 40)})`);
      }
    }
    series.rows.push(out);
  }

  readService(id: string, body: unknown): void {
    if (!isObject(body) || this.stopped) return;
    const status = isObject(body.status) ? body.status : {};
    const logs = isObject(body.logs) ? body.logs : {};
    const properties = isObject(status.properties) ? status.properties : {};
    const host = text(logs.host) ?? text(status.host);
    if (!host) return this.problem(`service ${id.slice(0, 80)}: no host named`);
    const service: ServiceSnapshot = {
      id,
      host,
      type: text(properties.type) ?? 'unknown',
      process: [],
      sockets: [],
      logs: [],
    };
    if (!this.named('service', id) || !this.named('host', host) || !this.named('type', service.type)) return;
    for (const p of Array.isArray(status.process) ? status.process : []) {
      if (!isObject(p) || !text(p.name)) continue;
      if (!this.within('rows') || !this.named(`process ${id}`, text(p.name)!)) return;
      const pid = isUnsignedInt(p.pid) ? p.pid : null;
      service.process.push({
        name: text(p.name)!,
        fullPath: text(p.full_path),
        cwd: text(p.cwd),
        username: text(p.username),
        pid,
        status: text(p.status) ?? 'unknown',
      });
    }
    for (const s of Array.isArray(status.sockets) ? status.sockets : []) {
      if (!isObject(s) || !text(s.name)) continue;
      if (!this.within('rows') || !this.named(`socket ${id}`, text(s.name)!)) return;
      service.sockets.push({ name: text(s.name)!, status: text(s.status) ?? 'unknown' });
    }
    for (const e of Array.isArray(logs.entries) ? logs.entries : []) {
      if (!isObject(e)) continue;
      if (!this.within('logLines')) return;
      const timestamp = readTimestamp(e.timestamp);
      const lineNo = isUnsignedInt(e.line_no) ? e.line_no : undefined;
      const source = text(e.source);
      if (timestamp === undefined || lineNo === undefined || !source) {
        this.problem(`service ${service.id.slice(0, 80)}: a log entry lacks timestamp, line_no or source`);
        continue;
      }
      const line = typeof e.text === 'string' ? e.text : (text(e.text) ?? '');
      // Counted as it will be held: cut to the longest text a column takes.
      if (!this.within('logChars', Math.min(line.length, columnChars('s$log_events.text') * 2))) return;
      service.logs.push({
        timestamp,
        lineNo,
        source,
        dateMark: text(e.date_mark) ?? '',
        text: line,
        level: text(e.level)?.slice(0, 32) ?? 'info', // only mapped to an event type, never stored
      });
    }
    this.snapshot.services.push(service);
    this.readCollectors(body.collectors, 'service', id);
  }
}

/**
 * Reads an `/all` answer against the agent's catalog. Malformed parts are
 * counted and skipped; valid data in the same answer is kept. Past one of
 * `limits` reading stops and `refused` says which.
 */
export function parseSnapshot(body: unknown, catalog: AgentCatalog, limits?: AgentLimits): AgentSnapshot {
  if (!isObject(body)) throw new Error('the /all answer is not a JSON object');
  const timestamp = readTimestamp(body.timestamp);
  if (timestamp === undefined) throw new Error('the /all answer has no valid top-level timestamp');
  const reader = new SnapshotReader(catalog, timestamp, limits);
  reader.readCollectors(body.system, 'system');
  if (isObject(body.services)) {
    for (const [id, service] of Object.entries(body.services)) reader.readService(id, service);
  }
  return reader.snapshot;
}
