/**
 * The data of one simulated host: a pure function of (seed, host index,
 * resource, property, sample time). Nothing is buffered: rows are computed on
 * request from the sample grid `k * sampleMs + phase` of each resource.
 */
import {
  THIRTY_DAYS, CPU_CONTEXTS, CPU_INTERRUPTS, CPU_USAGE, DISK_STATS, DISK_USAGE, LOADAVERAGE, MEMORY_USAGE, NETWORK_STAT,
  SERVICE_RESOURCES, SERVICE_TEMPLATES, SWAP_USAGE, THERMAL, UPTIME,
  type DataType, type HostTraits, type SampleCtx, type ServiceTemplate,
} from './catalog.js';
import { hashString, rand } from './random.js';
import { NO_DATA_FAULTS, type DataFaults } from './faults.js';
import type {
  AllResponse, CollectorData, LogEntry, LogLevel, Row, ServiceLogs, ServiceStatus,
} from './types.js';


export interface HostModelParams {
  /** 32-bit seed (see seedOf). */
  seed: number;
  /** 0-based host index. */
  index: number;
  /** Name the agent reports (x-host, status.host, logs.host). */
  hostname: string;
  /** Sampling period of every resource, ms. */
  sampleMs: number;
  /** How far back the agent keeps rows, ms. */
  bufferMs: number;
  /** Mean period between two log lines of a service, ms (lines are 0.5x..1.5x apart). */
  logIntervalMs: number;
}

/** One resource (a `.../<collector>/<resource>/history` path). */
export interface ResourceInstance {
  /** The service id for a service resource, undefined for a host resource. */
  serviceId?: string;
  collector: string;
  /** Resource name as it appears in paths and /all (URL-encoded mounts, e.g. `%2Fvar`). */
  name: string;
  type: DataType;
  description: string;
  /** `/system/<c>/<r>/history` or `/service/<id>/<c>/<r>/history`. */
  path: string;
  salt: number;
  phaseMs: number;
  param: number;
}

export interface ServiceInstance {
  id: string;
  template: ServiceTemplate;
  pid: number;
  workerPids: number[];
  salt: number;
  logPhaseMs: number;
  resources: ResourceInstance[];
}

/** Row and entry counts of an /all body. */
export interface RowCounts {
  /** Rows under `system`. */
  system: number;
  /** Rows under `services[*].collectors`. */
  service: number;
  /** Log entries under `services[*].logs.entries`. */
  logs: number;
  /** system + service (metric rows only). */
  rows: number;
}

const FIXED = 0x7fffffff;
const LEVELS: readonly [LogLevel, number][] = [
  ['info', 0.5], ['notice', 0.7], ['warning', 0.88], ['error', 0.98], ['critical', 1],
];

/** Hostile names served by the hostileNames fault. */
export const HOSTILE = Object.freeze({
  collector: 'evil',
  type: 'x;DROP TABLE t',
  longType: 'T'.repeat(300),
  resource: 'x;DROP TABLE t',
  longResource: 'r'.repeat(300),
  properties: ['a`b', 'x;DROP TABLE t', "Robert'); DROP TABLE students;--", 'sp ace', 'ünïcødé', 'p'.repeat(300), 'ok_value'],
  /** Also added to every loadaverage row and definition. */
  extraProperty: 'a`b',
  extraType: 'loadaverage',
});

function hostileType(name: string, props: readonly string[]): DataType {
  return {
    name,
    isService: false,
    properties: props.map((p) => ({ name: p, type: 'number', description: `${p} value` })),
    sample: (c) => Object.fromEntries(props.map((p, i) => [p, 100 * c.noise(i)])),
  };
}
const HOSTILE_TYPE = hostileType(HOSTILE.type, HOSTILE.properties);
const HOSTILE_LONG_TYPE = hostileType(HOSTILE.longType, ['value']);

/** Inclusive/exclusive time window of what an answer contains, in the agent's clock. */
interface Window {
  /** Rows must be > this (now - buffer). */
  after: number;
  /** Rows must be >= this (since, restart time). */
  from: number;
  /** Rows must be <= this (agent now). */
  until: number;
}

export class HostModel {
  readonly index: number;
  readonly hostname: string;
  readonly traits: HostTraits;
  /** Host resources, sorted by collector then name. */
  readonly systemResources: readonly ResourceInstance[];
  /** Services, sorted by id. */
  readonly services: readonly ServiceInstance[];
  private readonly seed: number;
  private readonly sampleMs: number;
  private readonly bufferMs: number;
  private readonly logIntervalMs: number;

  constructor(params: HostModelParams) {
    this.seed = params.seed;
    this.index = params.index;
    this.hostname = params.hostname;
    this.sampleMs = params.sampleMs;
    this.bufferMs = params.bufferMs;
    this.logIntervalMs = params.logIntervalMs;
    const h = (...p: number[]): number => rand(this.seed, this.index, 0x5eed, ...p);
    this.traits = {
      cores: h(1) < 0.5 ? 2 : 4,
      memKb: [2, 4, 8, 16, 32, 64][Math.floor(h(2) * 6)] * 1024 * 1024,
      swapKb: (1 + Math.floor(h(3) * 4)) * 1024 * 1024,
      bootOffsetMs: Math.floor(h(4) * THIRTY_DAYS),
    };
    const sys: ResourceInstance[] = [];
    const add = (collector: string, name: string, type: DataType, description: string, param = 1, serviceId?: string): ResourceInstance => {
      const path = serviceId === undefined
        ? `/system/${collector}/${name}/history`
        : `/service/${serviceId}/${collector}/${name}/history`;
      const salt = hashString(path);
      return { serviceId, collector, name, type, description, path, salt, param, phaseMs: this.phase(salt) };
    };
    sys.push(add('cpuload', 'avg', LOADAVERAGE, 'Load average'));
    sys.push(add('cpuuse', 'all', CPU_USAGE, 'CPU all usage'));
    for (let c = 0; c < this.traits.cores; c++) sys.push(add('cpuuse', `cpu${c}`, CPU_USAGE, `CPU cpu${c} usage`));
    sys.push(add('cpuuse', 'ctxt', CPU_CONTEXTS, 'Context switches (#/s)'));
    sys.push(add('cpuuse', 'intr', CPU_INTERRUPTS, 'Interrupts (#/s)'));
    sys.push(add('diskstats', 'sda', DISK_STATS, 'Disk sda statistics', 1));
    sys.push(add('diskstats', 'sdb', DISK_STATS, 'Disk sdb statistics', 0.3));
    sys.push(add('diskusage', '%2F', DISK_USAGE, '/ disk usage', 20_000 + Math.floor(h(5) * 180_000)));
    sys.push(add('diskusage', '%2Fvar', DISK_USAGE, '/var disk usage', 50_000 + Math.floor(h(6) * 450_000)));
    sys.push(add('memory', 'memory', MEMORY_USAGE, 'Memory usage'));
    sys.push(add('memory', 'swap', SWAP_USAGE, 'Swap usage'));
    sys.push(add('netdev', 'eth0', NETWORK_STAT, 'Network interface eth0 usage', 1));
    sys.push(add('netdev', 'lo', NETWORK_STAT, 'Network interface lo usage', 0.1));
    sys.push(add('thermal', 'all', THERMAL, 'all thermal informations'));
    sys.push(add('uptime', 'uptime', UPTIME, 'System uptime'));
    this.systemResources = sortResources(sys);

    // sshd everywhere, plus one or two other services.
    const others = SERVICE_TEMPLATES.slice(1).map((t, i) => ({ t, r: h(100 + i) })).sort((a, b) => a.r - b.r);
    const picked = [SERVICE_TEMPLATES[0], ...others.slice(0, h(7) < 0.5 ? 1 : 2).map((o) => o.t)];
    this.services = picked
      .map((template) => {
        const id = `${template.name}-${template.uniqName}`;
        const salt = hashString(`service:${id}`);
        const pid = 300 + Math.floor(h(200, salt) * 60_000);
        const workerPids = Array.from({ length: template.workers }, (_, w) => pid + 1 + w);
        const resources = sortResources(SERVICE_RESOURCES.map((r) =>
          add(r.collector, r.name, r.type, r.description, r.collector === 'cpu' && r.name === 'shed' ? 1 + template.workers : 1, id)));
        return { id, template, pid, workerPids, salt, logPhaseMs: this.phase(salt ^ 0x1095), resources };
      })
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Every resource: host ones, then each service's. */
  allResources(): ResourceInstance[] {
    return [...this.systemResources, ...this.services.flatMap((s) => s.resources)];
  }

  /** Agent clock after faults (restart skew). */
  agentNow(nowMs: number, faults: DataFaults = NO_DATA_FAULTS): number {
    return faults.restart ? nowMs - faults.restart.clockSkewMs : nowMs;
  }

  /** The exact body of `GET /all` (with `since` or undefined) at `nowMs`. */
  all(sinceMs: number | undefined, nowMs: number, faults: DataFaults = NO_DATA_FAULTS): AllResponse {
    const w = this.window(sinceMs, nowMs, faults);
    const services: AllResponse['services'] = {};
    for (const s of this.services) {
      services[s.id] = {
        collectors: this.collectorData(s.resources, w, faults),
        logs: this.logsIn(s, w),
        status: this.status(s.id, faults) as ServiceStatus,
      };
    }
    const system = this.collectorData(this.hostResources(faults), w, faults);
    return { services, system, timestamp: this.agentNow(nowMs, faults) };
  }

  /** Rows of one resource path (`/system/...`/history or `/service/.../history`), or undefined if unknown. */
  history(path: string, sinceMs: number | undefined, nowMs: number, faults: DataFaults = NO_DATA_FAULTS): Row[] | undefined {
    const res = this.findResource(path, faults);
    return res ? this.rows(res, this.window(sinceMs, nowMs, faults), faults) : undefined;
  }

  /** Resolves a history path (raw or percent-decoded once) to a resource. */
  findResource(path: string, faults: DataFaults = NO_DATA_FAULTS): ResourceInstance | undefined {
    const candidates = [...this.hostResources(faults), ...this.services.flatMap((s) => s.resources)];
    const exact = candidates.find((r) => r.path === path);
    if (exact) return exact;
    return candidates.find((r) => safeDecode(r.path) === path || r.path === safeDecode(path));
  }

  /** Host resources including the hostile ones when that fault is on. */
  hostResources(faults: DataFaults = NO_DATA_FAULTS): readonly ResourceInstance[] {
    if (!faults.hostileNames) return this.systemResources;
    const mk = (name: string, type: DataType): ResourceInstance => {
      const path = `/system/${HOSTILE.collector}/${name}/history`;
      const salt = hashString(path);
      return { collector: HOSTILE.collector, name, type, description: 'hostile', path, salt, param: 1, phaseMs: this.phase(salt) };
    };
    return sortResources([...this.systemResources, mk(HOSTILE.resource, HOSTILE_TYPE), mk(HOSTILE.longResource, HOSTILE_LONG_TYPE)]);
  }

  /** Status of a service (always sent in full), or undefined if unknown. */
  status(serviceId: string, faults: DataFaults = NO_DATA_FAULTS): ServiceStatus | undefined {
    const s = this.services.find((x) => x.id === serviceId);
    if (!s) return undefined;
    const t = s.template;
    const failed = faults.failedServices.has(s.id);
    return {
      host: this.hostname,
      process: [failed
        ? { full_path: t.fullPath, name: t.name, status: 'failed' }
        : { cwd: t.cwd, full_path: t.fullPath, name: t.name, pid: s.pid, status: 'ok', username: t.username }],
      properties: { host: this.hostname, name: t.name, subType: t.subType, type: t.type, uniqName: t.uniqName },
      sockets: [{ name: t.socket, status: failed ? 'failed' : 'ok' }],
      subprocess: failed ? [] : s.workerPids.map((pid) => ({
        cwd: t.cwd, full_path: t.fullPath, name: t.name, pid, username: t.name === 'nginx' ? 'www-data' : t.username,
      })),
    };
  }

  /** Log entries of a service, or undefined if unknown. */
  logs(serviceId: string, sinceMs: number | undefined, nowMs: number, faults: DataFaults = NO_DATA_FAULTS): ServiceLogs | undefined {
    const s = this.services.find((x) => x.id === serviceId);
    return s ? this.logsIn(s, this.window(sinceMs, nowMs, faults)) : undefined;
  }

  /** Counts the rows the model serves for /all (cheaper to call than to count by hand). */
  rowCounts(sinceMs: number | undefined, nowMs: number, faults: DataFaults = NO_DATA_FAULTS): RowCounts {
    return countRows(this.all(sinceMs, nowMs, faults));
  }

  /** The newProperty definitions visible at `nowMs` (used by swagger). */
  visibleNewProperties(nowMs: number, faults: DataFaults): DataFaults['newProperties'] {
    const agentNow = this.agentNow(nowMs, faults);
    return faults.newProperties.filter((p) => agentNow >= p.fromMs);
  }

  // ---------------------------------------------------------------------------

  private phase(salt: number): number {
    // A phase in [0, sampleMs) with four decimals, e.g. 1640.3435.
    return Math.floor(rand(this.seed, this.index, salt, 0xfa5e) * this.sampleMs * 10_000) / 10_000;
  }

  private window(sinceMs: number | undefined, nowMs: number, faults: DataFaults): Window {
    const until = this.agentNow(nowMs, faults);
    let from = sinceMs ?? -Infinity;
    if (faults.restart) from = Math.max(from, faults.restart.atMs - faults.restart.clockSkewMs);
    return { after: until - this.bufferMs, from, until };
  }

  private collectorData(resources: readonly ResourceInstance[], w: Window, faults: DataFaults): CollectorData {
    const out: CollectorData = {};
    for (const r of resources) {
      (out[r.collector] ??= {})[r.name] = this.rows(r, w, faults);
    }
    return out;
  }

  private rows(r: ResourceInstance, w: Window, faults: DataFaults): Row[] {
    const S = this.sampleMs;
    const lo = Math.max(w.after, w.from);
    if (!(w.until >= lo)) return [];
    const kMin = Math.ceil((lo - r.phaseMs) / S) - 1;
    const kMax = Math.floor((w.until - r.phaseMs) / S) + 1;
    const seed = this.seed;
    const index = this.index;
    const host = this.traits;
    let k = 0;
    const ctx: SampleCtx = {
      t: 0,
      noise: (i) => rand(seed, index, r.salt, k, i),
      wave: (i, period) => Math.sin((2 * Math.PI * ctx.t) / period + 2 * Math.PI * rand(seed, index, r.salt, FIXED, 1000 + i)),
      fixed: (i) => rand(seed, index, r.salt, FIXED, i),
      host,
      param: r.param,
    };
    const newProps = faults.newProperties.filter((p) => p.type === r.type.name);
    const hostileExtra = faults.hostileNames && r.type.name === HOSTILE.extraType;
    const out: Row[] = [];
    for (k = kMin; k <= kMax; k++) {
      const t = k * S + r.phaseMs;
      if (t <= w.after || t < w.from || t > w.until) continue;
      ctx.t = t;
      const values: Record<string, number | string | null> = r.type.sample(ctx);
      for (const p of newProps) if (t >= p.fromMs) values[p.property] = 1000 * ctx.noise(500);
      if (hostileExtra) values[HOSTILE.extraProperty] = ctx.noise(501);
      if (faults.nonNumeric && r.type.properties.length > 0 && ctx.noise(77) < 0.5) {
        const p = r.type.properties[Math.floor(ctx.noise(78) * r.type.properties.length)];
        values[p.name] = 'abc';
      }
      out.push(makeRow(t, values));
    }
    return out;
  }

  private logsIn(s: ServiceInstance, w: Window): ServiceLogs {
    const L = this.logIntervalMs;
    const lo = Math.max(w.after, w.from);
    const entries: LogEntry[] = [];
    if (w.until >= lo) {
      // Line j is at j*L + phase + u*L (u in [0, 1)): 0..2L apart, L on average.
      const jMin = Math.floor((lo - s.logPhaseMs) / L) - 2;
      const jMax = Math.floor((w.until - s.logPhaseMs) / L) + 1;
      for (let j = jMin; j <= jMax; j++) {
        const t = j * L + s.logPhaseMs + Math.floor(rand(this.seed, this.index, s.salt, j, 1) * L * 1000) / 1000;
        if (t <= w.after || t < w.from || t > w.until) continue;
        entries.push(this.logEntry(s, j, t));
      }
    }
    return { entries, host: this.hostname };
  }

  private logEntry(s: ServiceInstance, j: number, t: number): LogEntry {
    const r = (i: number): number => rand(this.seed, this.index, s.salt, j, i);
    const u = r(2);
    const level = (LEVELS.find(([, limit]) => u < limit) ?? LEVELS[0])[0];
    const choices = s.template.messages[level];
    const message = choices[Math.floor(r(3) * choices.length)]
      .replaceAll('{a}', String(Math.floor(r(4) * 250)))
      .replaceAll('{b}', String(1 + Math.floor(r(5) * 250)))
      .replaceAll('{p}', String(1024 + Math.floor(r(6) * 60_000)));
    const dateMark = s.template.dateMark(new Date(Math.floor(t)));
    // Line numbers restart every UTC day (log rotation); strictly increasing within a day.
    const L = this.logIntervalMs;
    const dayStartJ = Math.ceil((Math.floor((j * L) / 86_400_000) * 86_400_000) / L);
    const lineNo = (j - dayStartJ) * 5 + 1 + Math.floor(r(7) * 5);
    return {
      date_mark: dateMark,
      level,
      line_no: lineNo,
      source: s.template.logSource,
      text: s.template.line(dateMark, this.hostname, s.pid, level, message),
      timestamp: t,
    };
  }
}

function makeRow(t: number, values: Record<string, number | string | null>): Row {
  const keys = Object.keys(values);
  keys.push('timestamp');
  keys.sort();
  const row: Record<string, number | string | null> = {};
  for (const k of keys) row[k] = k === 'timestamp' ? t : values[k];
  return row as Row;
}

function sortResources(list: ResourceInstance[]): ResourceInstance[] {
  return list.sort((a, b) => (a.collector === b.collector ? cmp(a.name, b.name) : cmp(a.collector, b.collector)));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Counts metric rows and log entries of an /all body. */
export function countRows(body: AllResponse): RowCounts {
  const count = (data: CollectorData): number =>
    Object.values(data).reduce((n, c) => n + Object.values(c).reduce((m, rows) => m + rows.length, 0), 0);
  const system = count(body.system);
  let service = 0;
  let logs = 0;
  for (const s of Object.values(body.services)) {
    service += count(s.collectors);
    logs += s.logs.entries.length;
  }
  return { system, service, logs, rows: system + service };
}

