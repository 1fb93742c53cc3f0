/**
 * What a simulated host is made of: the data types (named and shaped like the
 * real watched.agent's collectors) and the services a host may run.
 */
import type { LogLevel } from './types.js';

/** Per-host constants, derived once from (seed, host index). */
export interface HostTraits {
  cores: number;
  memKb: number;
  swapKb: number;
  /** The host reboots every 30 days, at epoch + bootOffsetMs + n * 30 days. */
  bootOffsetMs: number;
}

/** Deterministic helpers available to a sample generator. */
export interface SampleCtx {
  /** Sample timestamp (epoch ms with a fraction). */
  t: number;
  /** [0, 1), changes every sample; `i` selects an independent stream. */
  noise(i: number): number;
  /** Smooth wave in [-1, 1] with the given period; phase fixed per (host, resource, i). */
  wave(i: number, periodMs: number): number;
  /** [0, 1), constant for this (host, resource, i). */
  fixed(i: number): number;
  host: HostTraits;
  /** Resource parameter (disk size in MB for disk_usage, scale for others). */
  param: number;
}

export interface PropertyDef {
  name: string;
  type: 'number' | 'integer';
  description: string;
}

export interface DataType {
  name: string;
  /** true for service collectors' types (`x-isService: true` in swagger). */
  isService: boolean;
  properties: PropertyDef[];
  /** Values of one sample; keys must be exactly `properties` names. */
  sample(ctx: SampleCtx): Record<string, number | null>;
}

export const THIRTY_DAYS = 30 * 86_400_000;

const num = (name: string, description: string): PropertyDef => ({ name, type: 'number', description });
const int = (name: string, description: string): PropertyDef => ({ name, type: 'integer', description });
const level = (w: number): number => 0.5 + 0.5 * w;

export const CPU_USAGE: DataType = {
  name: 'cpu_usage',
  isService: false,
  properties: [
    num('iowait', 'IO wait(%)'),
    num('irq', 'Sevicing interupts(%)'),
    num('nice', 'Nice processes usage(%)'),
    num('softirq', 'Sevicing softirq(%)'),
    num('system', 'System usage(%)'),
    num('user', 'Normal processes usage(%)'),
  ],
  sample: (c) => ({
    iowait: 4 * c.noise(0) * c.noise(1),
    irq: 0.3 * c.noise(2),
    nice: c.fixed(0) < 0.3 ? 2 * c.noise(3) : 0,
    softirq: 0.2 + 0.8 * c.noise(4),
    system: 1 + 6 * level(c.wave(1, 2_700_000)) + 2 * c.noise(5),
    user: 3 + 35 * level(c.wave(0, 3_600_000)) * (0.3 + 0.7 * c.fixed(1)) + 6 * c.noise(6),
  }),
};

export const CPU_INTERRUPTS: DataType = {
  name: 'cpu_interrupts',
  isService: false,
  properties: [num('value', 'Interrupts')],
  sample: (c) => ({ value: 400 + 3000 * level(c.wave(0, 3_600_000)) + 500 * c.noise(0) }),
};

export const CPU_CONTEXTS: DataType = {
  name: 'cpu_contexts',
  isService: false,
  properties: [num('value', 'Context switches')],
  sample: (c) => ({ value: 900 + 8000 * level(c.wave(0, 3_600_000)) + 1500 * c.noise(0) }),
};

export const LOADAVERAGE: DataType = {
  name: 'loadaverage',
  isService: false,
  properties: [num('avg1', 'Load average (1mn)'), num('avg15', 'Load average (15mn)'), num('avg5', 'Load average (5mn)')],
  sample: (c) => {
    const base = c.host.cores * (0.1 + 0.7 * level(c.wave(0, 1_800_000)));
    return {
      avg1: base * (0.8 + 0.4 * c.noise(0)),
      avg15: c.host.cores * (0.1 + 0.7 * level(c.wave(0, 1_800_000) * 0.6)),
      avg5: base * (0.9 + 0.2 * c.noise(1)),
    };
  },
};

export const MEMORY_USAGE: DataType = {
  name: 'memory_usage',
  isService: false,
  properties: [
    int('apps', 'Application memory (Kb)'),
    int('buffer', 'Buffer memory (kb)'),
    int('cached', 'Cached memory (kb)'),
    int('free', 'Free memory (Kb)'),
    num('pct', 'Free memory (%)'),
    int('slab', 'Kernel memory (kb)'),
  ],
  sample: (c) => {
    const total = c.host.memKb;
    const apps = Math.round(total * (0.2 + 0.45 * level(c.wave(0, 5_400_000))) + total * 0.01 * c.noise(0));
    const buffer = Math.round(total * (0.01 + 0.01 * c.fixed(1)));
    const cached = Math.round(total * (0.15 + 0.1 * level(c.wave(1, 7_200_000))));
    const slab = Math.round(total * (0.02 + 0.01 * c.noise(1)));
    const free = Math.max(0, total - apps - buffer - cached - slab);
    return { apps, buffer, cached, free, pct: (free * 100) / total, slab };
  },
};

export const SWAP_USAGE: DataType = {
  name: 'swap_usage',
  isService: false,
  properties: [int('free', 'Free swap (Kb)'), num('pct', 'Free swap (%)'), int('used', 'Used swap (Kb)')],
  sample: (c) => {
    const total = c.host.swapKb;
    const used = Math.round(total * 0.2 * c.fixed(0) * level(c.wave(0, 10_800_000)));
    return { free: total - used, pct: ((total - used) * 100) / total, used };
  },
};

export const DISK_USAGE: DataType = {
  name: 'disk_usage',
  isService: false,
  properties: [
    int('free', 'Free storage (Mb)'),
    num('ipctfree', 'Free inode %'),
    num('pctfree', 'Free space %'),
    int('size', 'Total size (Mb)'),
  ],
  sample: (c) => {
    const size = c.param;
    // Declared integer, sent with a fraction by the real agent too.
    const free = size * (0.15 + 0.6 * c.fixed(0)) * (1 - 0.05 * level(c.wave(0, 86_400_000))) + c.noise(0) * 3.7;
    return { free, ipctfree: 60 + 35 * c.fixed(1) - 2 * c.noise(1), pctfree: (free * 100) / size, size };
  },
};

export const DISK_STATS: DataType = {
  name: 'disk_stats',
  isService: false,
  properties: [
    num('iotime', 'IO time ms/s'),
    num('iowtime', 'Weighted IO time ms/s'),
    num('rcount', 'Read count/s'),
    num('rmerge', 'Read merge/s'),
    num('rsector', 'Sectors read/s'),
    num('rtime', 'Read time ms/s'),
    num('wcount', 'Write count/s'),
    num('wmerge', 'Write merge/s'),
    num('wsector', 'Sectors write/s'),
    num('wtime', 'Write time ms/s'),
  ],
  sample: (c) => {
    const busy = level(c.wave(0, 1_200_000)) * c.param;
    const rcount = 40 * busy * c.noise(0);
    const wcount = 60 * busy * c.noise(1);
    return {
      iotime: 400 * busy * c.noise(2),
      // NaN on the agent, sent as null: about 1 sample in 200.
      iowtime: c.noise(99) < 0.005 ? null : 600 * busy * c.noise(3),
      rcount,
      rmerge: rcount * 0.2 * c.noise(4),
      rsector: rcount * (8 + 120 * c.noise(5)),
      rtime: rcount * (0.2 + 2 * c.noise(6)),
      wcount,
      wmerge: wcount * 0.5 * c.noise(7),
      wsector: wcount * (8 + 60 * c.noise(8)),
      wtime: wcount * (0.5 + 3 * c.noise(9)),
    };
  },
};

export const NETWORK_STAT: DataType = {
  name: 'network_stat',
  isService: false,
  properties: [
    num('rbytes', 'Bytes/s (receive)'),
    num('rdrop', 'Drops/s (receive)'),
    num('rerrs', 'Errors/s (receive)'),
    num('rmulti', 'Multicast/s (receive)'),
    num('rpackets', 'Packets/s (receive)'),
    num('tbytes', 'Bytes/s (transmit)'),
    num('tdrop', 'Drop/s (transmit)'),
    num('terrs', 'Errors/s (transmit)'),
    num('tpackets', 'Packets/s (transmit)'),
  ],
  sample: (c) => {
    const rpackets = c.param * (20 + 900 * level(c.wave(0, 3_600_000)) * c.noise(0));
    const tpackets = c.param * (15 + 700 * level(c.wave(1, 3_600_000)) * c.noise(1));
    return {
      rbytes: rpackets * (60 + 1200 * c.noise(2)),
      rdrop: c.noise(3) < 0.02 ? c.noise(4) : 0,
      rerrs: 0,
      rmulti: c.param * 0.2 * c.noise(5),
      rpackets,
      tbytes: tpackets * (60 + 900 * c.noise(6)),
      tdrop: 0,
      terrs: c.noise(7) < 0.005 ? 0.2 : 0,
      tpackets,
    };
  },
};

/** A type with no property but `timestamp`, like the agent's thermal on a VM. */
export const THERMAL: DataType = {
  name: 'thermal',
  isService: false,
  properties: [],
  sample: () => ({}),
};

export const UPTIME: DataType = {
  name: 'uptime',
  isService: false,
  properties: [num('uptime', 'System uptime')],
  sample: (c) => ({ uptime: ((((c.t - c.host.bootOffsetMs) % THIRTY_DAYS) + THIRTY_DAYS) % THIRTY_DAYS) / 1000 }),
};

export const SERVICE_CPU_SHED: DataType = {
  name: 'service_cpu_shed',
  isService: true,
  properties: [
    num('exec_runtime', 'exec_runtime stat from the sheduler'),
    num('process', 'Number of process'),
    num('thread', 'total number of threads'),
  ],
  sample: (c) => ({
    exec_runtime: 50 * c.param * level(c.wave(0, 1_800_000)) * c.noise(0),
    process: c.param,
    thread: c.param * (1 + Math.floor(8 * c.fixed(0))),
  }),
};

export const SERVICE_CPU_STAT: DataType = {
  name: 'service_cpu_stat',
  isService: true,
  properties: [
    num('csystem', 'system % cumulated'),
    num('cuser', 'user % cumulated'),
    num('pct', 'total % used'),
    num('system', 'system %'),
    num('user', 'user %'),
  ],
  sample: (c) => {
    const user = 12 * level(c.wave(0, 2_400_000)) * c.noise(0) * (0.2 + c.fixed(0));
    const system = 3 * c.noise(1) * (0.2 + c.fixed(0));
    return { csystem: system * 1.1, cuser: user * 1.05, pct: user + system, system, user };
  },
};

export const SERVICE_IO: DataType = {
  name: 'service_io',
  isService: true,
  properties: [num('rd', 'Read bytes'), num('wt', 'Write bytes')],
  sample: (c) => ({
    rd: 4096 * c.param * level(c.wave(0, 1_500_000)) * c.noise(0) * 30,
    wt: 4096 * c.param * level(c.wave(1, 1_500_000)) * c.noise(1) * 12,
  }),
};

export const SERVICE_MEMORY: DataType = {
  name: 'serviceMemory',
  isService: true,
  properties: [num('shared', 'Shared Libraries (kB)'), num('swap', 'Swapped (kB)'), num('total', 'Total Memory usage (kB)')],
  sample: (c) => ({
    shared: 2048 + 8192 * c.fixed(0),
    swap: c.fixed(1) < 0.2 ? 1024 * c.fixed(2) : 0,
    total: c.param * 1024 * (8 + 200 * c.fixed(3)) * (0.9 + 0.2 * level(c.wave(0, 7_200_000))),
  }),
};

export const DATA_TYPES: readonly DataType[] = [
  CPU_USAGE, CPU_INTERRUPTS, CPU_CONTEXTS, LOADAVERAGE, MEMORY_USAGE, SWAP_USAGE, DISK_USAGE, DISK_STATS,
  NETWORK_STAT, THERMAL, UPTIME, SERVICE_CPU_SHED, SERVICE_CPU_STAT, SERVICE_IO, SERVICE_MEMORY,
];

/** A service collector resource: `<collector>/<resource>` of a given type. */
export interface ServiceResourceTemplate {
  collector: string;
  name: string;
  type: DataType;
  description: string;
}

export const SERVICE_RESOURCES: readonly ServiceResourceTemplate[] = [
  { collector: 'cpu', name: 'shed', type: SERVICE_CPU_SHED, description: 'Service scheduler information' },
  { collector: 'cpu', name: 'stat', type: SERVICE_CPU_STAT, description: 'Service CPU usage' },
  { collector: 'io', name: 'io', type: SERVICE_IO, description: 'Service IO usage' },
  { collector: 'mem', name: 'mem', type: SERVICE_MEMORY, description: 'Service memory usage' },
];

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number): string => String(n).padStart(2, '0');
const hms = (d: Date): string => `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
/** syslog: `Nov  9 13:06:01` (day padded with a space). */
const syslogDate = (d: Date): string => `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${hms(d)}`;

const NGINX_LEVELS: Record<LogLevel, string> = { critical: 'crit', error: 'error', warning: 'warn', notice: 'notice', info: 'info' };

/** Everything needed to render a service and its log. */
export interface ServiceTemplate {
  name: string;
  /** `uniqName`; the service id is `<name>-<uniqName>`. */
  uniqName: string;
  socket: string;
  type: string;
  subType: string;
  fullPath: string;
  cwd: string;
  username: string;
  /** Number of sub-processes (workers) reported in `subprocess`. */
  workers: number;
  logSource: string;
  /** The date mark as the agent's log parser extracts it (may carry spaces). */
  dateMark(d: Date): string;
  /** Full log line for a message. */
  line(dateMark: string, host: string, pid: number, level: LogLevel, message: string): string;
  messages: Record<LogLevel, readonly string[]>;
}

export const SERVICE_TEMPLATES: readonly ServiceTemplate[] = [
  {
    name: 'sshd', uniqName: 'tcp_0.0.0.0_22', socket: 'tcp://0.0.0.0:22', type: 'unknown', subType: 'unknown',
    fullPath: '/usr/sbin/sshd', cwd: '/', username: 'root', workers: 0, logSource: '/var/log/auth.log',
    dateMark: syslogDate,
    line: (dm, host, pid, _lvl, msg) => `${dm} ${host} sshd[${pid}]: ${msg}`,
    messages: {
      info: ['Accepted publickey for deploy from 10.0.{a}.{b} port {p} ssh2', 'pam_unix(sshd:session): session opened for user deploy(uid=1000) by (uid=0)'],
      notice: ['Received disconnect from 10.0.{a}.{b} port {p}:11: disconnected by user'],
      warning: ['Failed password for invalid user admin from 192.0.2.{b} port {p} ssh2'],
      error: ['error: kex_exchange_identification: Connection closed by remote host'],
      critical: ['fatal: Timeout before authentication for 198.51.100.{b} port {p}'],
    },
  },
  {
    name: 'mariadbd', uniqName: 'tcp_127.0.0.1_3306', socket: 'tcp://127.0.0.1:3306', type: 'mysql', subType: 'mariadb',
    fullPath: '/usr/sbin/mariadbd', cwd: '/var/lib/mysql', username: 'mysql', workers: 0, logSource: '/var/log/mysql/error.log',
    dateMark: (d) => `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())} ${hms(d)} `,
    line: (dm, _host, _pid, _lvl, msg) => `${dm}0 ${msg}`,
    messages: {
      info: ['[Note] InnoDB: Buffer pool(s) load completed', '[Note] Detected table cache mutex contention at instance {a}'],
      notice: ['[Note] Aborted connection {p} to db: \'app\' user: \'app\' host: \'localhost\' (Got timeout reading communication packets)'],
      warning: ['[Warning] Aborted connection {p} to db: \'unconnected\' user: \'unauthenticated\' host: \'10.0.{a}.{b}\''],
      error: ['[ERROR] Incorrect definition of table mysql.column_stats'],
      critical: ['[ERROR] InnoDB: Tablespace id {p} in file ./app/t{a}.ibd is corrupted'],
    },
  },
  {
    name: 'nginx', uniqName: 'tcp_0.0.0.0_80', socket: 'tcp://0.0.0.0:80', type: 'unknown', subType: 'unknown',
    fullPath: '/usr/sbin/nginx', cwd: '/', username: 'root', workers: 2, logSource: '/var/log/nginx/error.log',
    dateMark: (d) => `${d.getUTCFullYear()}/${p2(d.getUTCMonth() + 1)}/${p2(d.getUTCDate())} ${hms(d)}`,
    line: (dm, _host, pid, lvl, msg) => `${dm} [${NGINX_LEVELS[lvl]}] ${pid}#${pid}: ${msg}`,
    messages: {
      info: ['*{p} client 10.0.{a}.{b} closed keepalive connection'],
      notice: ['signal process started'],
      warning: ['*{p} an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/{a}/{b}'],
      error: ['*{p} connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.{a}.{b}'],
      critical: ['*{p} SSL_do_handshake() failed (SSL: error:0A00006C:SSL routines::bad key share)'],
    },
  },
  {
    name: 'redis-server', uniqName: 'tcp_127.0.0.1_6379', socket: 'tcp://127.0.0.1:6379', type: 'redis', subType: 'unknown',
    fullPath: '/usr/bin/redis-server', cwd: '/var/lib/redis', username: 'redis', workers: 0, logSource: '/var/log/redis/redis-server.log',
    dateMark: (d) => ` ${p2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${hms(d)}.${String(d.getUTCMilliseconds()).padStart(3, '0')}`,
    line: (dm, _host, pid, _lvl, msg) => `${pid}:M${dm} ${msg}`,
    messages: {
      info: ['* Background saving started by pid {p}', '* DB saved on disk'],
      notice: ['* {a} changes in 300 seconds. Saving...'],
      warning: ['# WARNING Memory overcommit must be enabled!'],
      error: ['# Error trying to save the DB, can\'t exit.'],
      critical: ['# Out Of Memory allocating {p} bytes!'],
    },
  },
  {
    name: 'master', uniqName: 'tcp_0.0.0.0_25', socket: 'tcp://0.0.0.0:25', type: 'unknown', subType: 'unknown',
    fullPath: '/usr/lib/postfix/sbin/master', cwd: '/var/spool/postfix', username: 'root', workers: 1, logSource: '/var/log/mail.log',
    dateMark: syslogDate,
    line: (dm, host, pid, _lvl, msg) => `${dm} ${host} postfix/smtpd[${pid}]: ${msg}`,
    messages: {
      info: ['connect from unknown[203.0.113.{b}]', 'disconnect from unknown[203.0.113.{b}] ehlo=1 quit=1 commands=2'],
      notice: ['lost connection after EHLO from unknown[203.0.113.{b}]'],
      warning: ['warning: hostname mail{a}.example does not resolve to address 203.0.113.{b}'],
      error: ['error: open database /etc/postfix/transport.db: No such file or directory'],
      critical: ['fatal: no SASL authentication mechanisms'],
    },
  },
];
