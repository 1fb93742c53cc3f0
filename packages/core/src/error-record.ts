import { secrets } from './secret-registry.js';

/**
 * The one way an error becomes something we print: its message and a few
 * named, primitive fields. Errors from libraries carry whole options objects
 * and commands (ioredis' `command.args` holds the AUTH password, mysql2's
 * errors keep the connection config, got's keep the request options,
 * nodemailer's the SMTP response), so an error is never logged or printed
 * as it is: only what is picked here, scrubbed of known secrets.
 */
export interface ErrorRecord {
  message: string;
  /** The class name when it says something (`ReplyError`, `MaxRetriesPerRequestError`), not plain `Error`. */
  name?: string;
  /** `ECONNREFUSED`, `ER_BAD_DB_ERROR`, `ETIMEDOUT`, ... */
  code?: string;
  errno?: number;
  sqlState?: string;
  syscall?: string;
  /** Where a network error happened (host or IP and port); never credentials. */
  address?: string;
  port?: number;
}

const MAX_MESSAGE = 500;

function scrubbed(text: string): string {
  const clean = secrets.scrub(text.replace(/\s+/g, ' ').trim());
  return clean.length > MAX_MESSAGE ? `${clean.slice(0, MAX_MESSAGE)}...` : clean;
}

/** AggregateError (Node's happy-eyeballs connects) says nothing itself: its first inner error does. */
function innermost(err: Error): Error {
  const inner = (err as { errors?: unknown }).errors;
  if (!err.message && Array.isArray(inner) && inner[0] instanceof Error) return innermost(inner[0]);
  return err;
}

/** A safe, flat record of any thrown value. */
export function errorRecord(err: unknown): ErrorRecord {
  if (!(err instanceof Error)) return { message: scrubbed(typeof err === 'string' ? err : safeString(err)) };
  const source = innermost(err);
  const fields = source as unknown as Record<string, unknown>;
  const record: ErrorRecord = { message: scrubbed(source.message || String(fields.code ?? source.name)) };
  if (source.name && source.name !== 'Error') record.name = source.name;
  if (typeof fields.code === 'string') record.code = fields.code;
  if (typeof fields.errno === 'number') record.errno = fields.errno;
  if (typeof fields.sqlState === 'string') record.sqlState = fields.sqlState;
  if (typeof fields.syscall === 'string') record.syscall = fields.syscall;
  if (typeof fields.address === 'string') record.address = fields.address;
  if (typeof fields.port === 'number') record.port = fields.port;
  return record;
}

function safeString(value: unknown): string {
  try {
    return typeof value === 'object' ? JSON.stringify(value) ?? String(value) : String(value);
  } catch {
    return String(value);
  }
}

/** One line for humans: the message, and the code when the message does not already say it. */
export function describeError(err: unknown): string {
  const record = errorRecord(err);
  return record.code && !record.message.includes(record.code) ? `${record.message} (${record.code})` : record.message;
}

/** Codes of a connection that cannot be made or was lost (Node, ioredis, mysql2). */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ECONNABORTED',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_BAD_DB_ERROR',
]);

/** Messages of the same kind that come without a code (ioredis replies and its own errors). */
const CONNECTION_MESSAGE =
  /^(WRONGPASS|NOAUTH|NOPERM|LOADING|MASTERDOWN|READONLY)\b|Connection is closed|Stream isn't writeable|Reached the max retries per request|connect ETIMEDOUT|Can't add new command when connection is in closed state|Pool is closed|connection lost/i;

/**
 * Whether `err` says a dependency cannot be reached or refuses us (rather
 * than a bad statement or a bug): such errors belong to an outage, counted
 * by its OutageTracker, not logged one by one.
 */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const source = innermost(err);
  const code = (source as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  return CONNECTION_MESSAGE.test(source.message);
}
