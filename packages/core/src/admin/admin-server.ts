import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigError, errorMessage, IllegalStateError } from '../errors.js';
import { describeError } from '../error-record.js';
import type { Service, ServiceState } from '../lifecycle.js';
import type { Logger } from '../logger.js';
import { ADMIN_PATHS, parseAdminListen, type AdminOptions } from './admin-options.js';
import { WatchedMetrics } from './metrics.js';
import type { ReadinessCheck } from './readiness.js';
import { ADMIN_ROUTE_MAX_BODY, type AdminRoute } from './admin-route.js';

export interface AdminServerDependencies {
  logger: Logger;
  /** The process's metrics; a fresh registry with Node process metrics when absent. */
  metrics?: WatchedMetrics;
  /** Conditions of /readyz (more can be added with `addReadinessCheck`). */
  readiness?: ReadinessCheck[];
  /** A check not settled within this is failed (default 2000 ms, below a probe's usual 1-5 s timeout). */
  checkTimeoutMs?: number;
  /** The roles' write endpoints (more can be added with `addRoute`). */
  routes?: AdminRoute[];
}

export interface ReadinessReport {
  ready: boolean;
  /** `ok` or the error of each check (served by /readyz only with the admin token; `failing` without). */
  checks: Record<string, string>;
  /** Names of the failing checks. */
  failing: string[];
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * The admin HTTP server of one process: `GET /healthz` (alive), `GET /readyz`
 * (200 only when every readiness check passes, else 503 naming the failing
 * ones; their error texts only to a caller with the token) and `GET /metrics`
 * (Prometheus text). With `adminToken` set, every path but the two probes
 * needs `Authorization: Bearer <token>`.
 * `start()` and `close()` are idempotent.
 */
export class AdminServer implements Service {
  readonly name = 'admin-server';
  readonly metrics: WatchedMetrics;
  private readonly checks: ReadinessCheck[];
  private readonly routes: AdminRoute[] = [];
  private readonly logger: Logger;
  private readonly checkTimeoutMs: number;
  private readonly listen: { host: string; port: number };
  private readonly tokenDigest: Buffer | undefined;
  private readonly lastOutcomes = new Map<string, string>();
  private server: Server | undefined;
  private state: ServiceState = 'INITIALIZED';
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: Pick<AdminOptions, 'adminListen'> & Partial<Pick<AdminOptions, 'adminToken'>>, deps: AdminServerDependencies) {
    this.listen = parseAdminListen(options.adminListen);
    this.tokenDigest = options.adminToken ? digest(options.adminToken) : undefined;
    this.logger = deps.logger;
    this.metrics = deps.metrics ?? new WatchedMetrics();
    this.checks = [...(deps.readiness ?? [])];
    this.checkTimeoutMs = deps.checkTimeoutMs ?? 2000;
    for (const route of deps.routes ?? []) this.addRoute(route);
  }

  /** Adds a role's write endpoint (always behind the admin token). */
  addRoute(route: AdminRoute): void {
    if (this.routes.some((r) => r.method === route.method && r.path === route.path)) throw new Error(`admin route ${route.method} ${route.path} already registered`);
    this.routes.push(route);
  }

  get lifecycleState(): ServiceState {
    return this.state;
  }

  /** Adds a condition of /readyz (e.g. the role's own state once it is built). */
  addReadinessCheck(check: ReadinessCheck): void {
    if (this.checks.some((c) => c.name === check.name)) throw new Error(`readiness check ${check.name} already registered`);
    this.checks.push(check);
  }

  /** The bound address (after start), e.g. to learn the port picked for `:0`. */
  address(): { host: string; port: number; url: string } {
    const info = this.server?.address() as AddressInfo | null | undefined;
    if (!info) throw new IllegalStateError('admin server is not listening');
    const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
    return { host: info.address, port: info.port, url: `http://${host}:${info.port}` };
  }

  start(): Promise<void> {
    if (this.starting) return this.starting;
    if (this.state !== 'INITIALIZED') return Promise.reject(new IllegalStateError(`admin server cannot start from ${this.state}`));
    this.starting = new Promise<void>((resolve, reject) => {
      const server = createServer((req, res) => void this.handle(req, res));
      server.keepAliveTimeout = 5000;
      server.once('error', (err: NodeJS.ErrnoException) => {
        this.state = 'FAILED';
        const where = `${this.listen.host}:${this.listen.port}`;
        // A taken port is a setting to change (two roles on one host), not a crash: say which option.
        reject(
          err.code === 'EADDRINUSE'
            ? new ConfigError('adminListen', `${where} is in use (another watched process on this host?); set --admin-listen or WATCHED_ADMIN_LISTEN to a free ADDR:PORT (port 0 picks one)`)
            : new Error(`admin server cannot listen on ${where}: ${errorMessage(err)}`),
        );
      });
      server.listen(this.listen.port, this.listen.host, () => {
        this.server = server;
        this.state = 'RUNNING';
        server.on('error', (err) => this.logger.error(`admin server: ${errorMessage(err)}`));
        this.logger.info(`admin server on ${this.address().url} (${Object.values(ADMIN_PATHS).join(', ')})`);
        resolve();
      });
    });
    return this.starting;
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      await this.starting?.catch(() => undefined);
      const server = this.server;
      this.state = 'STOPPING';
      if (server) {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      }
      this.state = 'STOPPED';
    })();
    return this.closing;
  }

  /** Runs every readiness check at once, each bounded by the check timeout. */
  async readiness(): Promise<ReadinessReport> {
    const results = await Promise.all(
      this.checks.map(async (c): Promise<[string, string]> => {
        let timer: NodeJS.Timeout | undefined;
        try {
          const outcome = await Promise.race([
            Promise.resolve().then(() => c.check()),
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${this.checkTimeoutMs} ms`)), this.checkTimeoutMs);
            }),
          ]);
          return [c.name, outcome === false ? 'not ready' : 'ok'];
        } catch (err) {
          // describeError: the message alone, scrubbed of the process's secrets (this body leaves the process).
          return [c.name, describeError(err) || 'failed'];
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    const checks = Object.fromEntries(results);
    const failing = results.filter(([, v]) => v !== 'ok').map(([k]) => k);
    this.logChanges(checks);
    return { ready: failing.length === 0, checks, failing };
  }

  /** Logs a check when it turns failing (with its reason) or ok again: once per change, not per probe. */
  private logChanges(checks: Record<string, string>): void {
    for (const [name, outcome] of Object.entries(checks)) {
      const before = this.lastOutcomes.get(name);
      this.lastOutcomes.set(name, outcome);
      if (outcome === before || (before === undefined && outcome === 'ok')) continue;
      if (outcome === 'ok') this.logger.info(`readiness: ${name} ok again`);
      else if (before === undefined || before === 'ok') this.logger.warn(`readiness: ${name} failing: ${outcome}`);
    }
  }

  private authorized(req: IncomingMessage): boolean {
    if (!this.tokenDigest) return true;
    const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    return match !== null && timingSafeEqual(digest(match[1].trim()), this.tokenDigest);
  }

  /** A role's write endpoint: only with a token configured and given, a JSON body, the route's answer. */
  private async serveRoute(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const matching = this.routes.filter((r) => path === r.path || path.startsWith(`${r.path}/`));
    const route = matching.find((r) => r.method === req.method);
    if (!route) return send(res, 405, { error: 'method not allowed' }, { allow: matching.map((r) => r.method).join(', ') });
    if (!this.tokenDigest) return send(res, 403, { error: `${route.method} ${route.path} needs an admin token: set --admin-token (or --admin-token-file)` });
    if (!this.authorized(req)) return send(res, 401, { error: 'missing or wrong bearer token' }, { 'www-authenticate': 'Bearer realm="watched"' });
    let body: unknown;
    try {
      const text = await readBody(req);
      body = text.trim() === '' ? undefined : (JSON.parse(text) as unknown);
    } catch (err) {
      return send(res, err instanceof RangeError ? 413 : 400, { error: err instanceof RangeError ? err.message : `the body is not JSON: ${errorMessage(err)}` });
    }
    const answer = await route.handle({ rest: decodeURIComponent(path.slice(route.path.length + 1)), body });
    return send(res, answer.status, answer.body);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    try {
      const route = this.routes.find((r) => path === r.path || path.startsWith(`${r.path}/`));
      if (route && req.method !== 'GET' && req.method !== 'HEAD') return await this.serveRoute(req, res, path);
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return send(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
      }
      if (path === ADMIN_PATHS.health) {
        return send(res, 200, { status: 'ok', state: this.state });
      }
      if (path === ADMIN_PATHS.ready) {
        const report = await this.readiness();
        // Probes need the verdict only; the reasons (error texts naming hosts, users, SQL) are for the token holder.
        const checks = this.tokenDigest && this.authorized(req) ? report.checks : verdictsOf(report.checks);
        return report.ready
          ? send(res, 200, { status: 'ready', checks })
          : send(res, 503, { status: 'unready', failing: report.failing, checks });
      }
      if (!this.authorized(req)) {
        return send(res, 401, { error: 'missing or wrong bearer token' }, { 'www-authenticate': 'Bearer realm="watched"' });
      }
      if (path === ADMIN_PATHS.metrics) {
        const body = await this.metrics.scrape();
        res.writeHead(200, { 'content-type': this.metrics.registry.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      return send(res, 404, { error: `no such path ${path}` });
    } catch (err) {
      this.logger.error(`admin server: ${req.method} ${path}: ${errorMessage(err)}`);
      if (!res.headersSent) send(res, 500, { error: describeError(err) });
      else res.destroy();
    }
  }
}

/** `ok` or `failing` per check: what /readyz tells a caller without the admin token. */
function verdictsOf(checks: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(checks).map(([name, outcome]) => [name, outcome === 'ok' ? 'ok' : 'failing']));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > ADMIN_ROUTE_MAX_BODY) {
        reject(new RangeError(`request body over ${ADMIN_ROUTE_MAX_BODY} bytes`));
        req.destroy();
      } else parts.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}
