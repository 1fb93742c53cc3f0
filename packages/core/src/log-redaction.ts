import winston from 'winston';
import { errorRecord } from './error-record.js';
import { SECRET_KEY, secrets } from './secret-registry.js';

/**
 * Secrets must never reach a log line, whoever wrote the message: passwords in
 * connection URLs, bearer tokens, private keys, and fields named like secrets
 * in the metadata. Redaction is by pattern, so it also covers messages built
 * from third-party errors (mysql2, ioredis, got) that quote a URL.
 */

export const REDACTED = '***';

/** `scheme://user:password@` -> `scheme://user:***@` (any scheme: mysql, redis, rediss, http, smtp...). */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/?#]*):([^\s@/?#]+)@/gi;
/** `Bearer abc...`, `Basic abc...` in header dumps and error texts. */
const AUTH_SCHEME = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g;
/** `password=...`, `token: ...`, `"secret":"..."`. */
const KEY_VALUE = /(["']?\b(?:password|passwd|secret|token|api[-_]?key|access[-_]?key)["']?\s*[=:]\s*)(["']?)[^\s"',;&}]+/gi;
/** A PEM private key block, complete or cut off. */
const PEM_KEY = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g;

/** Hides credentials inside free text (messages, error strings, URLs): the process's known secrets by value, the rest by shape. */
export function redactText(text: string): string {
  if (text.length === 0) return text;
  return secrets
    .scrub(text)
    .replace(PEM_KEY, (_m, kind: string) => `-----BEGIN ${kind}PRIVATE KEY----- ${REDACTED}`)
    .replace(URL_CREDENTIALS, (_m, scheme: string, user: string) => `${scheme}${user}:${REDACTED}@`)
    .replace(AUTH_SCHEME, (_m, scheme: string) => `${scheme} ${REDACTED}`)
    .replace(KEY_VALUE, (_m, key: string, quote: string) => `${key}${quote}${REDACTED}`);
}

/** The URL with its password hidden, for logs and status output. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = REDACTED;
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}

const MAX_DEPTH = 8;

/** A field named like a secret whose value could be one (not empty, not a boolean flag). */
function isSecretField(key: string, value: unknown): boolean {
  return SECRET_KEY.test(key) && value != null && value !== '' && typeof value !== 'boolean';
}

/**
 * A copy of `value` with secrets hidden: string leaves are scanned, values of
 * secret-named keys replaced. Objects are copied only where something changed,
 * so callers' objects are never mutated; cycles and depth are bounded.
 */
export function redactValue(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (seen.has(value)) return value;
  seen.add(value);
  // A library's error carries its options and commands (passwords among them): only its safe record goes on.
  if (value instanceof Error) return redactValue(errorRecord(value), depth + 1, seen);
  if (Array.isArray(value)) {
    const items = value.map((item) => redactValue(item, depth + 1, seen));
    return items.every((item, i) => item === value[i]) ? value : items;
  }
  if (Buffer.isBuffer(value) || value instanceof Date || ArrayBuffer.isView(value)) return value;
  let changed = false;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const redacted = isSecretField(key, item) ? REDACTED : redactValue(item, depth + 1, seen);
    if (redacted !== item) changed = true;
    out[key] = redacted;
  }
  return changed ? out : value;
}

/** Fields winston owns; never treated as user metadata. */
const WINSTON_FIELDS = new Set(['level', 'message', 'timestamp', 'stack']);

/**
 * winston format hiding secrets in the message, the stack and every metadata
 * field (string keys only: winston's Symbol-keyed fields are left alone, the
 * final formats rebuild the output from the redacted ones).
 */
export const redactSecrets = winston.format((info) => {
  if (typeof info.message === 'string') info.message = redactText(info.message);
  else info.message = redactValue(info.message);
  const record = info as Record<string, unknown>;
  if (typeof record.stack === 'string') record.stack = redactText(record.stack);
  for (const key of Object.keys(record)) {
    if (WINSTON_FIELDS.has(key)) continue;
    const value = record[key];
    record[key] = isSecretField(key, value) ? REDACTED : redactValue(value);
  }
  return info;
});
