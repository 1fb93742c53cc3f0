#!/usr/bin/env node
// Container healthcheck: GET <path> on this process's admin server, exit 0 on HTTP 200.
// Usage: node deploy/healthcheck.mjs [/healthz|/readyz]
// The port comes from WATCHED_ADMIN_LISTEN (default 127.0.0.1:9464, the AdminServer default);
// a wildcard bind address (0.0.0.0, ::) is reached through the loopback.
const DEFAULT_LISTEN = '127.0.0.1:9464';
const path = process.argv[2] ?? '/healthz';
const listen = process.env.WATCHED_ADMIN_LISTEN || DEFAULT_LISTEN;
const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen);
if (!match) {
  console.error(`healthcheck: cannot read WATCHED_ADMIN_LISTEN=${JSON.stringify(listen)}`);
  process.exit(2);
}
let host = match[1] ?? match[2];
if (host === '0.0.0.0') host = '127.0.0.1';
if (host === '::') host = '::1';
const url = `http://${host.includes(':') ? `[${host}]` : host}:${match[3]}${path}`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  if (res.status !== 200) {
    console.error(`healthcheck: ${url} answered ${res.status} ${(await res.text()).trim()}`);
    process.exit(1);
  }
} catch (err) {
  console.error(`healthcheck: ${url}: ${err?.cause?.message ?? err?.message ?? err}`);
  process.exit(1);
}
