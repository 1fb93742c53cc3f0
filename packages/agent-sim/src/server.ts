/**
 * HTTP handling of the simulated agents and of the control API. Nothing here
 * throws out of a request handler: every error becomes a response (or a
 * destroyed socket when headers were already sent).
 */
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { appliesTo, dataFaults, FaultValidationError, type EndpointKind, type Fault } from './faults.js';
import type { FleetTlsOptions } from './fleet-options.js';
import type { HostModel } from './host-model.js';
import { buildSwagger } from './swagger.js';

/** Address of one simulated agent. */
export interface AgentAddress {
  /** 0-based host index. */
  index: number;
  /** Address to connect to (a 127.20.x.y address in loopback mode). */
  host: string;
  port: number;
  /** Hostname the agent reports (x-host, status.host). */
  hostname: string;
}

/** What the handlers need from the fleet. */
export interface FleetContext {
  readonly hosts: number;
  now(): number;
  hostModel(index: number): HostModel;
  faults(index: number): readonly Fault[];
  setFault(index: number, input: unknown): readonly Fault[];
  clearFaults(): void;
  faultedHosts(): Map<number, readonly Fault[]>;
  agents(): AgentAddress[];
  info(): Record<string, unknown>;
  /** Resolves true after ms, or false if the response closed or the fleet closes first. */
  sleep(ms: number, res: ServerResponse): Promise<boolean>;
}

/** `since` must be digits with at most one fractional part; empty is rejected too. */
export const SINCE_PATTERN = /^[0-9]+(\.[0-9]+)?$/;
const CONTROL_BODY_LIMIT = 1024 * 1024;
const SERVER_HEADER = 'watched.agent (simulated)';

interface Reply {
  status: number;
  body: string;
  contentType: string;
  /** True for a JSON answer the data faults may corrupt. */
  json: boolean;
}

const json = (value: unknown, indent?: string): Reply => ({
  status: 200, body: JSON.stringify(value, null, indent), contentType: 'application/json', json: true,
});
const text = (status: number, body: string): Reply => ({ status, body, contentType: 'text/plain; charset=utf-8', json: false });

function send(res: ServerResponse, reply: Reply, extra: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const body = Buffer.from(reply.body, 'utf8');
  res.writeHead(reply.status, {
    Server: SERVER_HEADER,
    'Content-Type': reply.contentType,
    'Access-Control-Allow-Origin': '*',
    'Content-Length': String(body.length),
    ...extra,
  });
  res.end(body);
}

/** Sends RST when possible: the client sees ECONNRESET (or "socket hang up"), never ECONNREFUSED. */
export function resetSocket(socket: Socket | null | undefined): void {
  if (!socket || socket.destroyed) return;
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

function splitUrl(url: string | undefined): { path: string; query: string } {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q < 0 ? { path: raw, query: '' } : { path: raw.slice(0, q), query: raw.slice(q + 1) };
}

/** Parses `since`: undefined when absent, a number, or an error message. */
export function parseSince(query: string): number | undefined | { error: string } {
  const values = new URLSearchParams(query).getAll('since');
  if (values.length === 0) return undefined;
  if (values.length > 1) return { error: 'since given more than once' };
  if (!SINCE_PATTERN.test(values[0])) return { error: `since must match ${SINCE_PATTERN.source}` };
  return Number(values[0]);
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const ROOT_PAGE = '<!DOCTYPE html>\n<html><head><title>watched.agent</title></head><body><h1>watched.agent (simulated)</h1>'
  + '<p>See <a href="/api/swagger.json">/api/swagger.json</a> and <a href="/all">/all</a>.</p></body></html>\n';

/** Computes the normal answer of host `index` (no transport fault). */
function route(ctx: FleetContext, index: number, path: string, query: string, endpoint: EndpointKind, faults: readonly Fault[]): Reply {
  const model = ctx.hostModel(index);
  const df = dataFaults(faults, endpoint);
  const now = ctx.now();
  if (path === '/api/swagger.json') return json(buildSwagger(model, now, df), '\t');
  if (path === '/') return { status: 200, body: ROOT_PAGE, contentType: 'text/html; charset=UTF-8', json: false };
  const since = parseSince(query);
  if (typeof since === 'object') return text(400, `Bad Request: ${since.error}\n`);
  if (path === '/all') return json(model.all(since, now, df));
  if (path === '/service/all/status') {
    return json(Object.fromEntries(model.services.map((s) => [s.id, model.status(s.id, df)])));
  }
  if (path === '/service/all/log') {
    return json(Object.fromEntries(model.services.map((s) => [s.id, model.logs(s.id, since, now, df)])));
  }
  const m = /^\/service\/([^/]+)\/(status|log)$/.exec(path);
  if (m) {
    const id = decodeSegment(m[1]);
    const value = m[2] === 'status' ? model.status(id, df) : model.logs(id, since, now, df);
    // The real agent answers 200 with an error object for an unknown service.
    return json(value ?? { error: `No service matching '${id}' found` });
  }
  if (path.endsWith('/history') && (path.startsWith('/system/') || path.startsWith('/service/'))) {
    const rows = model.history(path, since, now, df);
    return rows ? json(rows) : text(404, 'No such Metric');
  }
  return text(404, 'Not found');
}

/** Streams a valid JSON document of exactly `size` bytes (at least its fixed frame), chunked, with backpressure. */
async function streamHuge(res: ServerResponse, endpoint: EndpointKind, size: number, now: number): Promise<void> {
  const head = endpoint === 'swagger'
    ? '{"basePath":"/","definitions":{},"paths":{},"swagger":"2.0","x-padding":['
    : '{"services":{},"system":{"pad":{"pad":[';
  const tail = endpoint === 'swagger' ? ']}' : `]}},"timestamp":${now}}`;
  res.writeHead(200, { Server: SERVER_HEADER, 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*' });
  const write = async (chunk: string): Promise<boolean> => {
    if (res.destroyed) return false;
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
    return !res.destroyed;
  };
  let written = head.length;
  if (!(await write(head))) return;
  const budget = Math.max(0, size - head.length - tail.length);
  let k = 0;
  let first = true;
  while (true) {
    let chunk = '';
    while (chunk.length < 65_536) {
      const item = endpoint === 'swagger'
        ? `"${'x'.repeat(56)}${String(k).padStart(8, '0')}"`
        : `{"timestamp":${now - 1e9 + k * 5000.5},"value":${(k % 1000) / 7}}`;
      const need = item.length + (first ? 0 : 1);
      if (written - head.length + chunk.length + need > budget) break;
      chunk += (first ? '' : ',') + item;
      first = false;
      k++;
    }
    if (chunk === '') break;
    written += chunk.length;
    if (!(await write(chunk))) return;
  }
  // Pad with JSON whitespace to reach the exact size.
  let pad = budget - (written - head.length);
  while (pad > 0) {
    const n = Math.min(pad, 65_536);
    if (!(await write(' '.repeat(n)))) return;
    pad -= n;
  }
  if (!res.destroyed) res.end(tail);
}

/** Handles a request that reached host `index`. */
export async function handleAgentRequest(ctx: FleetContext, index: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { path, query } = splitUrl(req.url);
  const endpoint: EndpointKind = path === '/api/swagger.json' ? 'swagger' : 'all';
  const faults = ctx.faults(index).filter((f) => appliesTo(f, endpoint));
  if (faults.some((f) => f.kind === 'down')) return resetSocket(req.socket);
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, text(405, 'Method Not Allowed'), { Allow: 'GET' });
  const delay = faults.reduce((sum, f) => sum + (f.kind === 'slow' ? f.delayMs : 0), 0);
  if (delay > 0 && !(await ctx.sleep(delay, res))) return;
  // Re-read after the delay: a fault may have been set or cleared meanwhile.
  const current = delay > 0 ? ctx.faults(index).filter((f) => appliesTo(f, endpoint)) : faults;
  for (const f of current) {
    switch (f.kind) {
      case 'down':
        return resetSocket(req.socket);
      case 'hang':
        return; // never answered; the socket is destroyed when the fleet closes
      case 'http500':
        return send(res, {
          status: 500,
          body: '<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1>'
            + '<p>The agent failed to answer.</p></body></html>\n',
          contentType: 'text/html; charset=UTF-8',
          json: false,
        });
      case 'huge':
        return streamHuge(res, endpoint, f.sizeBytes, ctx.now());
      default:
        break;
    }
  }
  const reply = route(ctx, index, path, query, endpoint, current);
  if (reply.json && reply.status === 200 && current.some((f) => f.kind === 'malformedJson')) {
    // A proper prefix of a JSON object plus junk is never valid JSON.
    reply.body = `${reply.body.slice(0, Math.max(1, Math.floor(reply.body.length * 0.6)))} <!-- agent error`;
  }
  if (req.method === 'HEAD') reply.body = '';
  if (reply.status === 200 && current.some((f) => f.kind === 'truncatedBody')) {
    const body = Buffer.from(reply.body, 'utf8');
    res.writeHead(200, {
      Server: SERVER_HEADER, 'Content-Type': reply.contentType, 'Access-Control-Allow-Origin': '*',
      'Content-Length': String(body.length + 1),
    });
    const socket = req.socket;
    res.write(body.subarray(0, Math.floor(body.length / 2)), () => socket.destroy());
    return;
  }
  send(res, reply);
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) throw new FaultValidationError(`request body larger than ${limit} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const faultList = (m: Map<number, readonly Fault[]>): Record<string, readonly Fault[]> =>
  Object.fromEntries([...m.entries()].sort((a, b) => a[0] - b[0]).map(([i, f]) => [String(i), f]));

/** A request to an address of no simulated host while the control API is off. */
export async function handleUnknownAddress(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { path } = splitUrl(req.url);
  return send(res, text(404, path.startsWith('/_sim/') ? 'the control API is off (start the fleet with it on)' : 'Not found'));
}

/** Handles the control API (`/_sim/...`); anything else gets 404. */
export async function handleControlRequest(ctx: FleetContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { path } = splitUrl(req.url);
  const method = req.method ?? 'GET';
  if (path === '/_sim/health' && method === 'GET') return send(res, json({ ok: true, hosts: ctx.hosts }));
  if (path === '/_sim/agents' && method === 'GET') return send(res, json({ ...ctx.info(), agents: ctx.agents() }));
  if (path === '/_sim/faults') {
    if (method === 'GET') return send(res, json(faultList(ctx.faultedHosts())));
    if (method === 'DELETE') {
      ctx.clearFaults();
      return send(res, json({}));
    }
    return send(res, text(405, 'Method Not Allowed'), { Allow: 'GET, DELETE' });
  }
  const m = /^\/_sim\/faults\/([0-9]{1,9})$/.exec(path);
  if (m) {
    const index = Number(m[1]);
    if (index >= ctx.hosts) return send(res, text(404, `no host ${index} (hosts: ${ctx.hosts})`));
    if (method === 'GET') return send(res, json({ index, faults: ctx.faults(index) }));
    if (method === 'DELETE') return send(res, json({ index, faults: ctx.setFault(index, null) }));
    if (method === 'POST' || method === 'PUT') {
      let input: unknown;
      try {
        const body = await readBody(req, CONTROL_BODY_LIMIT);
        input = body.trim() === '' ? null : JSON.parse(body);
      } catch (err) {
        return send(res, text(400, `invalid JSON body: ${(err as Error).message}\n`));
      }
      try {
        return send(res, json({ index, faults: ctx.setFault(index, input) }));
      } catch (err) {
        if (err instanceof FaultValidationError) return send(res, text(400, `${err.message}\n`));
        throw err;
      }
    }
    return send(res, text(405, 'Method Not Allowed'), { Allow: 'GET, POST, PUT, DELETE' });
  }
  return send(res, text(404, 'Not found'));
}

/**
 * The fleet's HTTP server, or HTTPS with `tls` (mTLS when client certificates
 * are required): connections emitted into it by the per-port listeners are
 * wrapped in TLS the same way as those it accepts itself.
 */
export function createAgentServer(tls: FleetTlsOptions | undefined, handler: RequestListener): Server {
  if (!tls) return createHttpServer({ keepAlive: true }, handler);
  return createHttpsServer(
    {
      keepAlive: true,
      cert: tls.cert,
      key: tls.key,
      ...(tls.ca ? { ca: tls.ca } : {}),
      requestCert: tls.requireClientCert ?? false,
      rejectUnauthorized: tls.requireClientCert ?? false,
    },
    handler,
  );
}

/** Wraps a handler so that nothing escapes: errors become a 500 or a destroyed socket. */
export function guarded(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    handler(req, res).catch((err: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        send(res, text(500, `simulator error: ${(err as Error)?.message ?? String(err)}\n`));
      } else {
        res.destroy();
      }
    });
  };
}
