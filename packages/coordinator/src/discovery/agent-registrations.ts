import { agentKey, DEFAULT_AGENT_PORT, parseBoolean, parseHostPort, validateAgent, type ListedAgent, type Pool, type ResultSetHeader, type RowDataPacket } from '@watched/core';

/** A registration as `POST /api/agents` takes it (JSON body). */
export interface AgentRegistration {
  host: string;
  port?: number;
  freq?: number;
  ssl?: boolean;
  labels?: Record<string, string>;
}

/** Thrown for a body that is not a registration (the endpoint answers 400 with the message). */
export class RegistrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistrationError';
  }
}

/** Checks a request body: `{host, port?, freq?, ssl?, labels?}` (host may carry the port, `host:port`). */
export function parseRegistration(body: unknown): ListedAgent {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RegistrationError('expected a JSON object {host, port?, freq?, ssl?, labels?}');
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => !['host', 'port', 'freq', 'ssl', 'labels'].includes(k));
  if (unknown.length) throw new RegistrationError(`unknown field(s) ${unknown.join(', ')}`);
  if (typeof b.host !== 'string') throw new RegistrationError('host is required (a string)');
  if (b.port !== undefined && typeof b.port !== 'number') throw new RegistrationError('port must be a number');
  if (b.freq !== undefined && typeof b.freq !== 'number') throw new RegistrationError('freq must be a number of seconds');
  const ssl = b.ssl === undefined ? undefined : parseBoolean(b.ssl);
  if (b.ssl !== undefined && ssl === undefined) throw new RegistrationError('ssl must be true or false');
  const labels: Record<string, string> = {};
  if (b.labels !== undefined) {
    if (typeof b.labels !== 'object' || b.labels === null || Array.isArray(b.labels)) throw new RegistrationError('labels must be an object');
    for (const [k, v] of Object.entries(b.labels)) {
      if (v !== null && typeof v === 'object') throw new RegistrationError(`label ${k} must be a plain value`);
      labels[k] = String(v);
    }
  }
  const split = parseHostPort(b.host.trim());
  if (split.port !== undefined && b.port !== undefined) throw new RegistrationError(`${b.host} has a port already`);
  try {
    const agent = validateAgent({ host: split.host, port: (b.port as number | undefined) ?? split.port ?? DEFAULT_AGENT_PORT, pollIntervalS: b.freq as number | undefined });
    return { host: agent.host, port: agent.port, pollIntervalS: b.freq as number | undefined, useSsl: ssl, labels };
  } catch (err) {
    throw new RegistrationError((err as Error).message);
  }
}

/**
 * The `http` source's list, `agt$registrations`: written by `POST` and
 * `DELETE /api/agents` on any coordinator replica, read by the leader at each
 * discovery pass, so registrations outlive leaders. Both writes are
 * idempotent: registering again updates the settings, removing twice is a no-op.
 */
export class AgentRegistrations {
  constructor(private readonly pool: Pool) {}

  /** Registers or updates; returns whether the agent was new to the list. */
  async register(agent: ListedAgent, now = Date.now()): Promise<boolean> {
    const [result] = await this.pool.query<ResultSetHeader>(
      'INSERT INTO `agt$registrations` (host, port, pool_freq, use_ssl, labels, registered_at) VALUES (?, ?, ?, ?, ?, ?) ' +
        'ON DUPLICATE KEY UPDATE pool_freq = VALUES(pool_freq), use_ssl = VALUES(use_ssl), labels = VALUES(labels)',
      [agent.host, agent.port, agent.pollIntervalS ?? null, agent.useSsl === undefined ? null : agent.useSsl ? 1 : 0, JSON.stringify(agent.labels), now],
    );
    return result.affectedRows === 1;
  }

  /** Removes from the list (the agent is retired after the grace period unless another source lists it); returns whether it was listed. */
  async remove(host: string, port: number): Promise<boolean> {
    const [result] = await this.pool.query<ResultSetHeader>('DELETE FROM `agt$registrations` WHERE host = ? AND port = ?', [host, port]);
    return result.affectedRows > 0;
  }

  async list(): Promise<Map<string, ListedAgent>> {
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT host, port, pool_freq, use_ssl, labels FROM `agt$registrations`');
    const out = new Map<string, ListedAgent>();
    for (const r of rows) {
      const agent: ListedAgent = {
        host: String(r.host),
        port: Number(r.port),
        pollIntervalS: r.pool_freq === null ? undefined : Number(r.pool_freq),
        useSsl: r.use_ssl === null ? undefined : Boolean(r.use_ssl),
        labels: r.labels ? (JSON.parse(String(r.labels)) as Record<string, string>) : {},
      };
      out.set(agentKey(agent), agent);
    }
    return out;
  }
}
