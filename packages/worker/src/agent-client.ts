import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { describeTlsError, readTlsFiles } from '@watched/core';
import { estimateParsedBytes, mib, parsedBytesWithin, type AgentLimits } from './ingest/limits.js';
import type { WorkerOptions } from './worker-options.js';

/** An agent as registered in `c$agents`. */
export interface AgentRecord {
  id: number;
  host: string;
  port: number;
  useSsl: boolean;
  /** Poll interval in seconds (`c$agents.pool_freq`). */
  pollIntervalS: number;
}

/**
 * The worker options the client reads, by their compiled names. TLS applies
 * to agents registered with `use_ssl`: the CA their certificates must chain
 * to (default: the system CAs), the client certificate and key presented to
 * them (mTLS), the lowest protocol version accepted. The server's name is
 * always checked against `c$agents.host` (IP SANs for IP hosts) and a
 * failure never falls back to plain HTTP.
 */
export type AgentClientOptions = Pick<WorkerOptions, 'agentConnectTimeoutMs' | 'agentTimeoutMs' | 'agentMaxResponseBytes' | 'agentTlsCa' | 'agentTlsCert' | 'agentTlsKey'> &
  Partial<Pick<WorkerOptions, 'agentTlsMinVersion'>> & { agentLimits?: Pick<AgentLimits, 'maxParsedBytes'> };

/** Options (flags) each TLS file comes from, named in configuration errors. */
const TLS_OPTION_NAMES = { ca: 'agentTlsCa', cert: 'agentTlsCert', key: 'agentTlsKey' };

/** Why a call to an agent failed, in words an operator can act on. */
export class AgentCallError extends Error {
  constructor(
    readonly agent: AgentRecord,
    readonly reason: 'refused' | 'timeout' | 'http' | 'too-large' | 'bad-payload' | 'network' | 'tls',
    detail: string,
  ) {
    super(`agent ${agent.host}:${agent.port}: ${reason}: ${detail}`);
    this.name = 'AgentCallError';
  }
}

export function agentBaseUrl(agent: AgentRecord): string {
  const host = agent.host.includes(':') ? `[${agent.host}]` : agent.host;
  return `${agent.useSsl ? 'https' : 'http'}://${host}:${agent.port}`;
}

/**
 * Bounds of one poll's calls beyond the client's own timeouts: a time by
 * which they must be done (epoch ms: the job's deadline, or the slow lane's),
 * and a signal that abandons them (the worker stopping).
 */
export interface CallLimits {
  deadline: number;
  signal?: AbortSignal;
}

/** The status and body of one call, the body decoded (gzip, deflate, br) and read as UTF-8. */
interface AgentResponse {
  status: number;
  body: string;
}

/** What a call ran out of time for: establishing the connection, or the whole exchange. */
class CallTimeout extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(phase: 'connect' | 'request', ms: number) {
    super(`Timeout awaiting '${phase}' for ${ms}ms`);
    this.name = 'TimeoutError';
  }
}

/** The answer went past the response cap (raw bytes, announced length or decoded bytes). */
class TooLarge extends Error {}

/**
 * HTTP access to watched.agent: keep-alive connections, a connect and a total
 * timeout, a body-size cap, no redirects followed, no retries (the next poll
 * is the retry). Plain node:http(s): a got call cost about 1 ms of CPU more
 * per poll than the same request through node:http (bench: ~0.8 us per stored
 * value), for option handling the worker does not need.
 */
export class AgentClient {
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 4, scheduling: 'lifo' });
  private readonly httpsAgent: HttpsAgent;

  constructor(private readonly options: AgentClientOptions) {
    // Read once here: a missing file stops the worker at start-up, naming its option.
    const material = readTlsFiles({ ca: options.agentTlsCa, cert: options.agentTlsCert, key: options.agentTlsKey }, TLS_OPTION_NAMES);
    this.httpsAgent = new HttpsAgent({
      keepAlive: true,
      maxSockets: 4,
      scheduling: 'lifo',
      ...(material.ca ? { ca: material.ca } : {}),
      ...(material.cert ? { cert: material.cert, key: material.key } : {}),
      minVersion: options.agentTlsMinVersion ?? 'TLSv1.2',
      rejectUnauthorized: true,
    });
  }

  /** GET /api/swagger.json, parsed. */
  fetchDiscovery(agent: AgentRecord, limits?: CallLimits): Promise<unknown> {
    return this.getJson(agent, '/api/swagger.json', limits);
  }

  /** GET /all, with `since` when a cursor exists. */
  fetchAll(agent: AgentRecord, since: number | undefined, limits?: CallLimits): Promise<unknown> {
    return this.getJson(agent, since === undefined ? '/all' : `/all?since=${formatSince(since)}`, limits);
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /** The call's timeouts cut to what is left before the deadline (none left: timed out without calling). */
  private timeouts(agent: AgentRecord, path: string, limits: CallLimits | undefined): { connect: number; request: number } {
    const { agentConnectTimeoutMs, agentTimeoutMs } = this.options;
    if (!limits) return { connect: agentConnectTimeoutMs, request: agentTimeoutMs };
    const left = Math.floor(limits.deadline - Date.now());
    if (left <= 0) throw new AgentCallError(agent, 'timeout', `${path}: the poll's deadline passed before the call`);
    const request = Math.min(agentTimeoutMs, left);
    return { connect: Math.min(agentConnectTimeoutMs, request), request };
  }

  private async getJson(agent: AgentRecord, path: string, limits?: CallLimits): Promise<unknown> {
    const max = this.options.agentMaxResponseBytes;
    let body: string;
    let status: number;
    try {
      ({ status, body } = await this.get(agent, path, this.timeouts(agent, path, limits), max, limits?.signal));
    } catch (err) {
      if (err instanceof AgentCallError) throw err;
      if (err instanceof TooLarge) throw new AgentCallError(agent, 'too-large', `${path} is larger than ${max} bytes`);
      throw classify(agent, path, err);
    }
    if (status !== 200) {
      throw new AgentCallError(agent, 'http', `${path} answered HTTP ${status}: ${snippet(body)}`);
    }
    // A small body of tiny JSON values can parse to 20 times its size: refused before parsing, not after.
    const maxParsed = this.options.agentLimits?.maxParsedBytes;
    // (Scanned only when the body is long enough to reach the limit: most answers are far below it.)
    if (maxParsed !== undefined && !parsedBytesWithin(body, maxParsed)) {
      const estimate = estimateParsedBytes(body);
      throw new AgentCallError(agent, 'too-large', `${path} would take about ${mib(estimate)} to parse, more than ${mib(maxParsed)} (limit --worker-memory)`);
    }
    try {
      return JSON.parse(body);
    } catch (err) {
      throw new AgentCallError(agent, 'bad-payload', `${path} is not valid JSON (${(err as Error).message})`);
    }
  }

  /**
   * One GET: the connect timeout runs while a new connection is made (a
   * kept-alive one is reused as it is), the request timeout over the whole
   * exchange, until the body's last byte. Past `max` bytes (as sent, as
   * announced by content-length, or once decoded) the call is cut off.
   * Redirects are answers like any other (the caller refuses them).
   */
  private get(agent: AgentRecord, path: string, timeouts: { connect: number; request: number }, max: number, signal?: AbortSignal): Promise<AgentResponse> {
    return new Promise<AgentResponse>((resolve, reject) => {
      let settled = false;
      let connectTimer: NodeJS.Timeout | undefined;
      const finish = (err: unknown, response?: AgentResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(requestTimer);
        clearTimeout(connectTimer);
        signal?.removeEventListener('abort', onAbort);
        if (err !== undefined) {
          req.destroy();
          reject(err);
        } else resolve(response!);
      };
      const options = {
        host: agent.host,
        port: agent.port,
        path,
        method: 'GET',
        headers: { 'user-agent': 'watched', accept: 'application/json', 'accept-encoding': 'gzip, deflate, br' },
      };
      const req = agent.useSsl ? httpsRequest({ ...options, agent: this.httpsAgent }) : httpRequest({ ...options, agent: this.httpAgent });
      const requestTimer = setTimeout(() => finish(new CallTimeout('request', timeouts.request)), timeouts.request);
      const onAbort = () => finish(Object.assign(new Error('the call was abandoned (the worker is stopping)'), { code: 'ABORT_ERR' }));
      if (signal) {
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
      }
      req.on('error', (err) => finish(err));
      req.on('socket', (socket) => {
        // A kept-alive socket is already connected; a new one gets the connect timeout (name lookup and TCP connection).
        if (!socket.connecting) return;
        connectTimer = setTimeout(() => finish(new CallTimeout('connect', timeouts.connect)), timeouts.connect);
        socket.once('connect', () => clearTimeout(connectTimer));
      });
      req.on('response', (res) => {
        const announced = Number(res.headers['content-length'] ?? 0);
        if (announced > max) return finish(new TooLarge());
        let raw = 0;
        res.on('data', (chunk: Buffer) => {
          if (settled) return;
          raw += chunk.length;
          if (raw > max) finish(new TooLarge());
        });
        const cutOff = () => finish(Object.assign(new Error('the answer was cut off before its end'), { code: 'ECONNRESET' }));
        res.on('aborted', cutOff);
        res.on('error', (err) => finish(err));
        // Closed before the body was complete (content-length not reached, chunked body unfinished).
        res.on('close', () => {
          if (!res.complete) cutOff();
        });
        const encoding = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
        const decoder =
          encoding === 'gzip' || encoding === 'x-gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : encoding === 'br' ? createBrotliDecompress() : undefined;
        const stream = decoder ? res.pipe(decoder) : res;
        const chunks: Buffer[] = [];
        let decoded = 0;
        stream.on('data', (chunk: Buffer) => {
          if (settled) return;
          decoded += chunk.length;
          if (decoded > max) return finish(new TooLarge());
          chunks.push(chunk);
        });
        if (decoder) decoder.on('error', (err) => finish(Object.assign(err, { name: 'ParseError' })));
        stream.on('end', () => {
          if (!res.complete) return cutOff();
          finish(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks, decoded).toString('utf8') });
        });
      });
      req.end();
    });
  }
}

/** `since` goes out as digits and one dot, the only form the agent accepts. */
export function formatSince(since: number): string {
  const text = String(since);
  if (/^\d+(\.\d+)?$/.test(text)) return text; // full precision: the bound must not move
  return Math.max(0, since).toFixed(6);
}

function snippet(body: string): string {
  return JSON.stringify(body.replace(/\s+/g, ' ').slice(0, 120));
}

function classify(agent: AgentRecord, path: string, err: unknown): AgentCallError {
  const tls = describeTlsError(err);
  if (tls) return new AgentCallError(agent, 'tls', `${path}: ${tls}`);
  const e = err as { code?: string; name?: string; message?: string } | null;
  const code = e?.code;
  if (code === 'ECONNREFUSED') return new AgentCallError(agent, 'refused', `${path}: connection refused`);
  if (err instanceof CallTimeout || code === 'ETIMEDOUT') return new AgentCallError(agent, 'timeout', `${path}: ${e?.message ?? ''}`.trim());
  // A body that does not decode as its content-encoding says.
  if (e?.name === 'ParseError') return new AgentCallError(agent, 'bad-payload', `${path}: ${e.message ?? ''}`);
  return new AgentCallError(agent, 'network', `${path}: ${code ?? ''} ${e?.message ?? String(err)}`.trim());
}
