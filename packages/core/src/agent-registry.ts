import { AgentStateTable } from './agent-state/agent-state-table.js';
import type { Pool, ResultSetHeader, RowDataPacket } from './mysql.js';

/** An agent registration as `watched agents` shows it, with its polling state. */
export interface RegisteredAgent {
  id: number;
  host: string;
  port: number;
  /** Poll interval in seconds (`c$agents.pool_freq`). */
  pollIntervalS: number;
  useSsl: boolean;
  lastPoll: number | null;
  lastOk: number | null;
  /** The agent's `/all` cursor: time (agent clock, epoch ms) of the newest data stored; null before the first good poll. */
  since: number | null;
  consecutiveFailures: number;
  lastError: string | null;
  /** Consecutive polls not answered within the job's deadline: above 0 it is polled off the hot path (migration 0013). */
  slowPolls: number;
  /** Its next poll not before then (epoch ms): a backed-off retry; null on the normal schedule. */
  retryAt: number | null;
  /** Where it came from: `manual` (by hand, an import, the front) or the discovery sources listing it (`agt$discovery`). */
  origin: string;
  /** When discovery retired it (no longer polled); null while active. */
  retiredAt: number | null;
}

export interface NewAgent {
  host: string;
  port?: number;
  /** Poll interval in seconds (`c$agents.pool_freq`); default DEFAULT_POLL_INTERVAL_S. */
  pollIntervalS?: number;
  useSsl?: boolean;
}

export const DEFAULT_AGENT_PORT = 9080;
/** Upstream's poll interval (seconds) of an agent registered without one, or whose `pool_freq` is NULL: the one place of this default. */
export const DEFAULT_POLL_INTERVAL_S = 300;

/** Hostnames, IPv4 and IPv6 literals; nothing that could smuggle a path or credentials into a URL. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*|[0-9A-Fa-f:.]+)$/;

export function validateAgent(agent: NewAgent): Required<NewAgent> {
  const host = agent.host.trim();
  if (!HOST.test(host) || host.length > 253) throw new Error(`invalid agent host ${JSON.stringify(agent.host)}`);
  const port = agent.port ?? DEFAULT_AGENT_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid agent port ${agent.port}`);
  const pollIntervalS = agent.pollIntervalS ?? DEFAULT_POLL_INTERVAL_S;
  if (!Number.isInteger(pollIntervalS) || pollIntervalS < 1 || pollIntervalS > 86_400) {
    throw new Error(`invalid poll frequency ${agent.pollIntervalS} (1 to 86400 seconds)`);
  }
  return { host, port, pollIntervalS, useSsl: agent.useSsl ?? false };
}

/** `c$agents` administration, as the CLI and `watched up` do it (the web front writes the same table). */
export class AgentRegistry {
  constructor(private readonly pool: Pool) {}

  /** Registers agents; those already registered (same host and port) are left as they are. Returns how many were new. */
  async add(agents: NewAgent[]): Promise<number> {
    if (agents.length === 0) return 0;
    const rows = agents.map(validateAgent).map((a) => [a.host, a.port, a.pollIntervalS, a.useSsl ? 1 : 0]);
    let added = 0;
    for (let i = 0; i < rows.length; i += 1000) {
      const [result] = await this.pool.query<ResultSetHeader>(
        'INSERT IGNORE INTO `c$agents` (host, port, pool_freq, use_ssl) VALUES ?',
        [rows.slice(i, i + 1000)],
      );
      added += result.affectedRows;
    }
    return added;
  }

  async list(): Promise<RegisteredAgent[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT a.id, a.host, a.port, a.pool_freq, a.use_ssl, d.sources, d.retired_at, ${AgentStateTable.columns('s')} ` +
        'FROM `c$agents` a LEFT JOIN `agt$state` s ON s.agt_id = a.id LEFT JOIN `agt$discovery` d ON d.agent_id = a.id ORDER BY a.id',
    );
    return rows.map((r) => {
      const state = AgentStateTable.fromRow(r);
      return {
        id: Number(r.id),
        host: String(r.host),
        port: Number(r.port),
        pollIntervalS: Number(r.pool_freq ?? DEFAULT_POLL_INTERVAL_S),
        useSsl: Boolean(r.use_ssl),
        lastPoll: state.lastPoll,
        lastOk: state.lastOk,
        since: state.since,
        consecutiveFailures: state.consecutiveFailures,
        lastError: state.lastError,
        slowPolls: state.slowPolls,
        retryAt: state.retryAt,
        origin: r.sources === null ? 'manual' : String(r.sources),
        retiredAt: r.retired_at === null ? null : Number(r.retired_at),
      };
    });
  }

  /**
   * Registers or updates agents (`watched agents import`): new host:port pairs
   * are added, known ones take the given poll frequency and TLS setting.
   * Importing the same list again changes nothing. In batches of 1000,
   * `onBatch` told after each.
   */
  async upsert(agents: NewAgent[], onBatch?: (done: number) => void): Promise<{ added: number; updated: number; unchanged: number }> {
    const counts = { added: 0, updated: 0, unchanged: 0 };
    const valid = agents.map(validateAgent);
    for (let i = 0; i < valid.length; i += 1000) {
      const batch = valid.slice(i, i + 1000);
      const [known] = await this.pool.query<RowDataPacket[]>(
        'SELECT host, port, pool_freq, use_ssl FROM `c$agents` WHERE (host, port) IN (?)',
        [batch.map((a) => [a.host, a.port])],
      );
      // host is compared case-insensitively by the table's collation, as here.
      const existing = new Map(known.map((r) => [`${String(r.host).toLowerCase()}:${r.port}`, r]));
      const fresh: Array<Required<NewAgent>> = [];
      for (const a of batch) {
        const row = existing.get(`${a.host.toLowerCase()}:${a.port}`);
        if (!row) fresh.push(a);
        else if (Number(row.pool_freq) === a.pollIntervalS && Boolean(row.use_ssl) === a.useSsl) counts.unchanged += 1;
        else {
          await this.pool.query('UPDATE `c$agents` SET pool_freq = ?, use_ssl = ? WHERE host = ? AND port = ?', [a.pollIntervalS, a.useSsl ? 1 : 0, a.host, a.port]);
          counts.updated += 1;
        }
      }
      counts.added += await this.add(fresh);
      onBatch?.(Math.min(i + batch.length, valid.length));
    }
    return counts;
  }

  /** Removes by host (every port) or host and port; returns how many rows went. */
  async remove(host: string, port?: number): Promise<number> {
    const [result] = await this.pool.query<ResultSetHeader>(
      port === undefined ? 'DELETE FROM `c$agents` WHERE host = ?' : 'DELETE FROM `c$agents` WHERE host = ? AND port = ?',
      port === undefined ? [host] : [host, port],
    );
    return result.affectedRows;
  }
}
