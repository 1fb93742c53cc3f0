import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import got, { type Got, RequestError } from 'got';
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

/**
 * HTTP access to watched.agent: keep-alive connections, a connect and a total
 * timeout, a body-size cap, no retries (the next poll is the retry).
 */
export class AgentClient {
  private readonly http: Got;
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
    this.http = got.extend({
      retry: { limit: 0 },
      timeout: { connect: options.agentConnectTimeoutMs, request: options.agentTimeoutMs },
      agent: { http: this.httpAgent, https: this.httpsAgent },
      followRedirect: false,
      throwHttpErrors: false,
      decompress: true,
      headers: { 'user-agent': 'watched', accept: 'application/json' },
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
  private callOptions(agent: AgentRecord, path: string, limits: CallLimits | undefined) {
    if (!limits) return {};
    const left = Math.floor(limits.deadline - Date.now());
    if (left <= 0) throw new AgentCallError(agent, 'timeout', `${path}: the poll's deadline passed before the call`);
    const request = Math.min(this.options.agentTimeoutMs, left);
    return {
      timeout: { connect: Math.min(this.options.agentConnectTimeoutMs, request), request },
      ...(limits.signal ? { signal: limits.signal } : {}),
    };
  }

  private async getJson(agent: AgentRecord, path: string, limits?: CallLimits): Promise<unknown> {
    const max = this.options.agentMaxResponseBytes;
    const request = this.http.get(agentBaseUrl(agent) + path, this.callOptions(agent, path, limits));
    let tooLarge = false;
    request.on('downloadProgress', (progress: { transferred: number; total?: number }) => {
      if (!tooLarge && (progress.transferred > max || (progress.total ?? 0) > max)) {
        tooLarge = true;
        request.cancel();
      }
    });
    let body: string;
    let status: number;
    try {
      const response = await request;
      body = response.body;
      status = response.statusCode;
    } catch (err) {
      if (tooLarge) throw new AgentCallError(agent, 'too-large', `${path} is larger than ${max} bytes`);
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
  if (err instanceof RequestError) {
    const code = err.code;
    if (code === 'ECONNREFUSED') return new AgentCallError(agent, 'refused', `${path}: connection refused`);
    if (code === 'ETIMEDOUT' || err.name === 'TimeoutError') {
      return new AgentCallError(agent, 'timeout', `${path}: ${err.message}`);
    }
    // A body that does not decode as its content-encoding says is the agent's bad payload: zlib's codes
    // (Z_DATA_ERROR, Z_BUF_ERROR...) and brotli's (ERR__ERROR_FORMAT_PADDING_2...).
    if (err.name === 'ParseError' || code === 'ERR_BODY_PARSE_FAILURE' || code?.startsWith('Z_') || code?.startsWith('ERR__ERROR_')) {
      return new AgentCallError(agent, 'bad-payload', `${path}: ${err.message}`);
    }
    return new AgentCallError(agent, 'network', `${path}: ${code ?? ''} ${err.message}`.trim());
  }
  return new AgentCallError(agent, 'network', `${path}: ${(err as Error)?.message ?? String(err)}`);
}
