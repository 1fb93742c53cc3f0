import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The discovery entry of a host resource's history, whose rows are of data type `type`. */
export function historyOf(host: string, type: string) {
  return {
    'x-host': host,
    get: { responses: { '200': { schema: { type: 'array', items: { $ref: `#/definitions/${type}` } } } } },
  };
}

/** A data type definition with numeric properties (and the timestamp). */
export function numericType(properties: string[]) {
  return { properties: { timestamp: { type: 'number' }, ...Object.fromEntries(properties.map((p) => [p, { type: 'number' }])) } };
}

/** A minimal, valid discovery document: one host resource `cpuuse/all` of `cpu_usage`, plus extras. */
export function swaggerOf(host: string, extra: { paths?: Record<string, unknown>; definitions?: Record<string, unknown> } = {}) {
  return {
    swagger: '2.0',
    paths: { '/system/cpuuse/all/history': historyOf(host, 'cpu_usage'), ...extra.paths },
    definitions: {
      cpu_usage: numericType(['user', 'system']),
      ...extra.definitions,
    },
  };
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * One purpose-built misbehaving agent: `/api/swagger.json` and `/all` answer
 * with what a case needs. Sockets are tracked so close() never waits on a
 * response that was designed never to end.
 */
export class HostileAgent {
  private readonly server: Server;
  private readonly sockets = new Set<import('node:net').Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** URLs requested so far (path and query), to check what the worker asked for. */
  readonly requests: string[] = [];

  constructor(
    readonly name: string,
    handlers: { swagger?: Handler; all: Handler },
  ) {
    const swagger: Handler = handlers.swagger ?? ((_req, res) => json(res, swaggerOf(name)));
    this.server = createServer((req, res) => {
      this.requests.push(req.url ?? '');
      if (req.url?.startsWith('/api/swagger.json')) swagger(req, res);
      else if (req.url?.startsWith('/all')) handlers.all(req, res);
      else res.writeHead(404).end();
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /** setInterval that close() clears (for slow responses). */
  every(ms: number, tick: () => void): void {
    this.timers.add(setInterval(tick, ms));
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function json(res: ServerResponse, body: unknown, status = 200, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type }).end(typeof body === 'string' ? body : JSON.stringify(body));
}
