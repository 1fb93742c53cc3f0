import { z } from 'zod';
import { boolean, ConfigError, DEFAULT_POLL_INTERVAL_S, duration, integer, parseHostPort } from '@watched/core';

/** Splits a comma-separated value (flags, environment), but not inside braces: `agents/{a,b}.yaml` is one glob. */
function splitList(value: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of value) {
    if (ch === '{') depth += 1;
    if (ch === '}') depth = Math.max(0, depth - 1);
    if (ch === ',' && depth === 0) {
      out.push(current);
      current = '';
    } else current += ch;
  }
  out.push(current);
  return out.map((s) => s.trim()).filter(Boolean);
}

/** A repeatable option: a flag given several times, a comma-separated string, or a list in the config file. */
function stringList() {
  return z
    .union([z.string(), z.array(z.string())])
    .default([])
    .transform((value) => (Array.isArray(value) ? value.flatMap(splitList) : splitList(value)));
}

/** The discovery options of the coordinator (flags `--discovery-file`, env `WATCHED_DISCOVERY_FILE`, config `discoveryFile`). */
export const discoveryOptionsShape = {
  discoveryFile: stringList().describe('file source: YAML/JSON/CSV agent lists (globs), repeatable or comma-separated'),
  discoveryDns: stringList().describe('dns source: NAME[:PORT] resolved to A/AAAA records (port default 9080), repeatable'),
  discoverySrv: stringList().describe('dns source: SRV record names (each target and port is an agent), repeatable'),
  discoveryDnsServer: stringList().describe('DNS servers (ADDR or ADDR:PORT) of the dns source; default the system resolver'),
  discoveryHttp: boolean(false).describe('http source: accept POST/DELETE /api/agents on the admin server (needs --admin-token)'),
  discoveryInterval: duration('30s').describe('how often sources are re-read and reconciled into c$agents'),
  discoveryGrace: duration('10m', { zeroMeans: 'retire an agent as soon as every source dropped it' }).describe('an agent every source dropped is retired after this long'),
  discoveryFreq: integer(DEFAULT_POLL_INTERVAL_S, 1, 86_400).describe('poll interval (seconds) of discovered agents whose source gives none'),
};

export type LoadedDiscoveryOptions = z.output<z.ZodObject<typeof discoveryOptionsShape>>;

/** A DNS name and the agent port of its addresses. */
export interface DnsName {
  name: string;
  port: number;
}

/** Discovery, compiled: sources to run, and how reconciliation treats them. */
export interface DiscoveryOptions {
  readonly files: readonly string[];
  readonly dnsNames: readonly DnsName[];
  readonly srvNames: readonly string[];
  /** `ADDR` or `ADDR:PORT` (IPv6 as `[ADDR]:PORT`), as node's dns.Resolver#setServers takes them; empty: the system's. */
  readonly dnsServers: readonly string[];
  readonly http: boolean;
  readonly intervalMs: number;
  readonly graceMs: number;
  readonly defaultPollIntervalS: number;
}

const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;

function dnsName(field: string, value: string): string {
  if (!DNS_NAME.test(value)) throw new ConfigError(field, `${JSON.stringify(value)} is not a DNS name`);
  return value;
}

/** Compiles the discovery options; errors name the field. */
export function compileDiscoveryOptions(o: LoadedDiscoveryOptions): DiscoveryOptions {
  const dnsNames = o.discoveryDns.map((value) => {
    const { host, port } = parseHostPort(value);
    if (port !== undefined && !(port >= 1 && port <= 65535)) throw new ConfigError('discoveryDns', `port of ${value} must be 1 to 65535`);
    return { name: dnsName('discoveryDns', host), port: port ?? 9080 };
  });
  const dnsServers = o.discoveryDnsServer.map((value) => {
    const { host, port } = parseHostPort(value);
    if (!/^[0-9A-Fa-f:.]+$/.test(host)) throw new ConfigError('discoveryDnsServer', `${JSON.stringify(value)}: expected an IP address, optionally with :PORT`);
    if (port !== undefined && !(port >= 1 && port <= 65535)) throw new ConfigError('discoveryDnsServer', `port of ${value} must be 1 to 65535`);
    return value;
  });
  // A tight loop of DNS queries and full reconciliations is not what anyone wants.
  if (!(o.discoveryInterval >= 1000)) throw new ConfigError('discoveryInterval', 'must be at least 1s');
  return Object.freeze({
    files: Object.freeze([...o.discoveryFile]),
    dnsNames: Object.freeze(dnsNames),
    srvNames: Object.freeze(o.discoverySrv.map((n) => dnsName('discoverySrv', n))),
    dnsServers: Object.freeze(dnsServers),
    http: o.discoveryHttp,
    intervalMs: o.discoveryInterval,
    graceMs: o.discoveryGrace,
    defaultPollIntervalS: o.discoveryFreq,
  });
}
