/** Options of an AgentFleet, their defaults and validation. */
import { stripUndefined } from '@watched/core';
import type { FaultInput } from './faults.js';

export type AddressingMode = 'loopback' | 'ports';

/** Serving agents over HTTPS, as watched.agent does with use_ssl. PEM text or buffers. */
export interface FleetTlsOptions {
  /** Server certificate (chain) every simulated host presents. */
  cert: string | Buffer;
  key: string | Buffer;
  /** CA that signs acceptable client certificates (with requireClientCert). */
  ca?: string | Buffer;
  /** mTLS: refuse clients without a certificate signed by `ca` (default false). */
  requireClientCert?: boolean;
}

export interface AgentFleetOptions {
  /** Number of simulated hosts (default 10). */
  hosts?: number;
  /** Seed of every generated value (default 1). Same seed + same time => same bodies. */
  seed?: number | string;
  /**
   * 'loopback' (default): one listener; host i answers on 127.(20+⌊(i+1)/65536⌋).(⌊(i+1)/256⌋%256).((i+1)%256).
   * 'ports': host i listens on basePort + i (for containers, where hosts differ by port).
   */
  mode?: AddressingMode;
  /** loopback: listener port (default 9080; 0 = random, read `fleet.port` after start). */
  port?: number;
  /**
   * Address to bind (default '127.0.0.1': nothing off this host reaches the
   * fleet). loopback mode with a loopback bind and at most
   * MAX_LOOPBACK_LISTENERS hosts: one listener per host address; otherwise
   * one wildcard listener (the only way one socket receives 127.20.x.y),
   * which resets at once every connection not addressed to a loopback
   * address unless the control API is on.
   */
  bindAddress?: string;
  /**
   * Serve the unauthenticated control API (`/_sim/...`: faults, agent list)
   * (default false). Anyone who reaches it can change what the fleet answers.
   */
  controlApi?: boolean;
  /** ports: port of host 0 (default 9080; 0 = every host on its own random port). */
  basePort?: number;
  /** ports: port of the control API (default basePort - 1, or random when basePort is 0). */
  controlPort?: number;
  /** ports: address reported by agents() (default: bindAddress, or 127.0.0.1 for a wildcard bind). */
  advertiseHost?: string;
  /** Hostname reported by host i is `<prefix>-<i+1 on 5 digits>` (default 'sim' => sim-00001). */
  hostnamePrefix?: string;
  /** Sampling period of every resource, ms (default 5000). */
  sampleMs?: number;
  /** How much history an agent keeps, ms (default 25 minutes). */
  bufferMs?: number;
  /** Mean period between log lines of one service, ms (default 40000: lines 0..80 s apart). */
  logIntervalMs?: number;
  /** Keep-alive timeout of server sockets, ms (default 5000). */
  keepAliveTimeoutMs?: number;
  /** Clock (epoch ms with a fraction). Default performance.timeOrigin + performance.now(). */
  now?: () => number;
  /** Faults set at construction, by host index. */
  faults?: Record<number, FaultInput | FaultInput[]>;
  /** Serve the agents (and the control API) over HTTPS; default plain HTTP. */
  tls?: FleetTlsOptions;
}

export interface CompiledFleetOptions {
  hosts: number;
  seed: number | string;
  mode: AddressingMode;
  port: number;
  bindAddress: string;
  controlApi: boolean;
  basePort: number;
  controlPort: number;
  advertiseHost: string;
  hostnamePrefix: string;
  sampleMs: number;
  bufferMs: number;
  logIntervalMs: number;
  keepAliveTimeoutMs: number;
  now: () => number;
  faults: Record<number, FaultInput | FaultInput[]>;
  tls: FleetTlsOptions | undefined;
}

/** loopback mode: above this many hosts one wildcard listener replaces a listener per host address (file descriptors). */
export const MAX_LOOPBACK_LISTENERS = 2048;

/** Whether an address only accepts connections from this host. */
export function isLoopbackBind(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);
}

/** Highest host count the loopback scheme can address (second octet up to 255). */
export const MAX_LOOPBACK_HOSTS = (256 - 20) * 65536 - 1;

export class FleetOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FleetOptionError';
  }
}

export const defaultClock = (): number => performance.timeOrigin + performance.now();

const DEFAULTS = {
  hosts: 10,
  seed: 1,
  mode: 'loopback' as AddressingMode,
  port: 9080,
  bindAddress: '127.0.0.1',
  controlApi: false,
  basePort: 9080,
  hostnamePrefix: 'sim',
  sampleMs: 5_000,
  bufferMs: 25 * 60_000,
  logIntervalMs: 40_000,
  keepAliveTimeoutMs: 5_000,
};

function intIn(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new FleetOptionError(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new FleetOptionError(`${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

/** Fills defaults and rejects invalid or conflicting options. */
export function compileFleetOptions(options: AgentFleetOptions = {}): CompiledFleetOptions {
  const o = { ...DEFAULTS, ...stripUndefined(options) };
  if (o.mode !== 'loopback' && o.mode !== 'ports') throw new FleetOptionError("mode must be 'loopback' or 'ports'");
  const hosts = intIn('hosts', o.hosts, 1, o.mode === 'loopback' ? MAX_LOOPBACK_HOSTS : 60_000);
  if (typeof o.seed !== 'number' && typeof o.seed !== 'string') throw new FleetOptionError('seed must be a number or a string');
  if (typeof o.seed === 'number' && !Number.isFinite(o.seed)) throw new FleetOptionError('seed must be finite');
  const port = intIn('port', o.port, 0, 65535);
  const basePort = intIn('basePort', o.basePort, 0, 65535);
  if (o.mode === 'ports' && basePort > 0 && basePort + hosts - 1 > 65535) {
    throw new FleetOptionError(`basePort + hosts - 1 must be <= 65535 (basePort ${basePort}, hosts ${hosts})`);
  }
  const controlPort = intIn('controlPort', options.controlPort ?? (basePort > 0 ? basePort - 1 : 0), 0, 65535);
  if (o.mode === 'ports' && controlPort > 0 && basePort > 0 && controlPort >= basePort && controlPort < basePort + hosts) {
    throw new FleetOptionError(`controlPort ${controlPort} collides with the host ports ${basePort}..${basePort + hosts - 1}`);
  }
  if (typeof o.bindAddress !== 'string' || o.bindAddress === '') throw new FleetOptionError('bindAddress must be a non-empty string');
  const wildcard = o.bindAddress === '0.0.0.0' || o.bindAddress === '::';
  const advertiseHost = options.advertiseHost ?? (wildcard ? '127.0.0.1' : o.bindAddress);
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/.test(o.hostnamePrefix)) {
    throw new FleetOptionError('hostnamePrefix must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$ (no dots: names are domain-free)');
  }
  if (o.now !== undefined && typeof o.now !== 'function') throw new FleetOptionError('now must be a function');
  return {
    hosts,
    seed: o.seed,
    mode: o.mode,
    port,
    bindAddress: o.bindAddress,
    controlApi: o.controlApi === true,
    basePort,
    controlPort,
    advertiseHost,
    hostnamePrefix: o.hostnamePrefix,
    sampleMs: positive('sampleMs', o.sampleMs),
    bufferMs: positive('bufferMs', o.bufferMs),
    logIntervalMs: positive('logIntervalMs', o.logIntervalMs),
    keepAliveTimeoutMs: positive('keepAliveTimeoutMs', o.keepAliveTimeoutMs),
    now: o.now ?? defaultClock,
    faults: o.faults ?? {},
    tls: compileTls(options.tls),
  };
}

function compileTls(tls: FleetTlsOptions | undefined): FleetTlsOptions | undefined {
  if (tls === undefined) return undefined;
  const pem = (v: unknown) => (typeof v === 'string' && v.includes('-----BEGIN')) || Buffer.isBuffer(v);
  if (!pem(tls.cert)) throw new FleetOptionError('tls.cert must be a PEM certificate (string or Buffer)');
  if (!pem(tls.key)) throw new FleetOptionError('tls.key must be a PEM key (string or Buffer)');
  if (tls.ca !== undefined && !pem(tls.ca)) throw new FleetOptionError('tls.ca must be a PEM certificate (string or Buffer)');
  if (tls.requireClientCert && tls.ca === undefined) throw new FleetOptionError('tls.requireClientCert needs tls.ca (the CA of client certificates)');
  return { ...tls, requireClientCert: tls.requireClientCert ?? false };
}

