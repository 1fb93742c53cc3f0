import { isRetryableMysqlError } from '@watched/core';

/**
 * MySQL errors that say the server, not the statement, is the problem: it
 * is read-only, refuses us, lost the schema, was interrupted or is going
 * away. Writing again agent by agent would only fail once per agent.
 */
const SERVER_ERRNOS = new Set([
  1040, // too many connections
  1044, // access denied to the database
  1045, // access denied
  1053, // server shutdown in progress
  1142, // command denied (grants)
  1146, // table does not exist: migrations missing
  1158, 1159, 1160, 1161, // network read/write errors
  1290, // --read-only (a replica, or a failover in progress)
  1792, // a read-only transaction
  1317, // query interrupted
  1927, // connection killed
  1969, // statement timeout (max_statement_time)
  3024, // max_execution_time
  4031, // disconnected for inactivity
]);

/**
 * Whether an error met while preparing or writing one agent's data is that
 * agent's failure (its values, or a bug they triggered) rather than MySQL or
 * Redis failing, which must fail the job so it is retried. Errors without a
 * MySQL errno or Redis origin are the agent's: the job fails only when a
 * server does.
 */
export function isAgentFault(err: unknown): boolean {
  const e = err as { fatal?: boolean; code?: unknown; errno?: unknown; name?: unknown; command?: unknown } | null;
  if (!e || typeof e !== 'object') return true;
  if (e.fatal || isRetryableMysqlError(err)) return false;
  if (typeof e.code === 'string' && /^(E[A-Z]+$|PROTOCOL_|ER_CON_COUNT|ER_SERVER_SHUTDOWN)/.test(e.code)) return false;
  if (typeof e.errno === 'number' && SERVER_ERRNOS.has(e.errno)) return false;
  // ioredis: replies refused by the server, closed connections, exhausted retries.
  if (e.name === 'ReplyError' || e.name === 'MaxRetriesPerRequestError' || e.command !== undefined) return false;
  if (err instanceof Error && /^Connection is closed|^Stream isn't writeable/.test(err.message)) return false;
  return true;
}

/** One agent's poll refused for a reason already worded for the operator (a limit, a value): its cursor stays. */
export class AgentRefusal extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'AgentRefusal';
  }
}
