import { ConfigError } from '../errors.js';
import { secrets } from '../secret-registry.js';

/** One server of a connection: where to connect. */
export interface HostPort {
  host: string;
  port: number;
}

/** A connection URL taken apart, before any scheme-specific meaning is given to it. */
export interface ConnectionUrl {
  /** Lower case, without `://` (`mysql`, `rediss`, `redis+sentinel`). */
  scheme: string;
  /** Decoded; undefined when the URL has none. */
  username?: string;
  password?: string;
  /** In the order written; the port is undefined where the URL gives none. */
  hosts: Array<{ host: string; port?: number }>;
  /** Decoded path without its leading slash ('' when absent). */
  path: string;
  params: URLSearchParams;
}

const URL_SHAPE = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#.*)?$/i;

function decode(part: string, field: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ConfigError(field, `the ${what} of the URL is not valid percent-encoding`);
  }
}

function hostPort(text: string, field: string): { host: string; port?: number } {
  // `[::1]:3306` (IPv6 in brackets), `db:3306`, `db`.
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(text);
  if (!match) throw new ConfigError(field, `cannot read the host ${JSON.stringify(text)} of the URL`);
  const host = match[1].replace(/^\[(.*)\]$/, '$1');
  if (match[2] === undefined || match[2] === '') return { host };
  const port = Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError(field, `port ${match[2]} of the URL is not in 1-65535`);
  return { host, port };
}

/**
 * Splits `scheme://user:password@host1:port1,host2:port2/path?params` without
 * the WHATWG parser, which refuses host lists (`mysql://u@h1:3306,h2:3306/db`,
 * `redis+sentinel://s1:26379,s2:26379/master`): the one parser under every
 * connection option. Errors name `field`, never quote the password.
 */
export function splitConnectionUrl(url: string, field: string): ConnectionUrl {
  const match = URL_SHAPE.exec(url.trim());
  if (!match) throw new ConfigError(field, 'expected a URL like scheme://user:password@host:port/path');
  const [, scheme, authority, path, query] = match;
  // The last @ ends the credentials (as WHATWG reads them): a password may contain an unencoded @.
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at) : undefined;
  const hostList = at >= 0 ? authority.slice(at + 1) : authority;
  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    username = decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo, field, 'user name') || undefined;
    password = colon >= 0 ? decode(userinfo.slice(colon + 1), field, 'password') || undefined : undefined;
    // Known from here on, in every spelling, to everything that prints (secret-registry.ts).
    secrets.add(password);
  }
  return {
    scheme: scheme.toLowerCase(),
    username,
    password,
    hosts: hostList.split(',').map((h) => hostPort(h, field)),
    path: decode(path.replace(/^\//, ''), field, 'path'),
    params: new URLSearchParams(query ?? ''),
  };
}

/**
 * The URL's only host, the default filled in. Host lists are read (see
 * splitConnectionUrl) but not served yet: refused naming the option.
 */
export function singleHost(url: ConnectionUrl, field: string, defaults: HostPort): HostPort[] {
  const refused = hostListRefusal(url);
  if (refused) throw new ConfigError(field, refused);
  return everyHost(url, field, defaults);
}

/** Every host of the URL in the order written, defaults filled in (schemes that serve host lists: `mysql://`). */
export function everyHost(url: ConnectionUrl, field: string, defaults: HostPort): HostPort[] {
  const hosts = url.hosts.map(({ host, port }) => ({ host: host || defaults.host, port: port ?? defaults.port }));
  const seen = new Set<string>();
  for (const h of hosts) {
    const key = `${h.host}:${h.port}`;
    if (seen.has(key)) throw new ConfigError(field, `the host ${key} is listed twice in the URL`);
    seen.add(key);
  }
  return hosts;
}

/** Schemes whose URLs may list several hosts: `mysql://` (writer selection in order, see mysql-writer.ts). */
const HOST_LIST_SCHEMES = new Set(['mysql']);

/** Why the URL's hosts cannot be served today, or undefined when they can. */
export function hostListRefusal(url: ConnectionUrl): string | undefined {
  if (url.hosts.length <= 1 || HOST_LIST_SCHEMES.has(url.scheme)) return undefined;
  return `several hosts (${url.hosts.map((h) => h.host).join(', ')}) are not supported yet: give one host`;
}
