import { InvalidIdentifierError } from './errors.js';

/**
 * Names from agents (data types, properties) become MySQL identifiers. They pass
 * this one check before any SQL sees them; 48 characters leave room for the
 * `avg_`/`min_`/`max_`/`cnt_`/`sum_` and `d$`/`am$` prefixes under MySQL's 64.
 */
const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]{0,47}$/;

export function isValidIdentifier(name: unknown): boolean {
  return typeof name === 'string' && IDENTIFIER.test(name);
}

export function assertIdentifier(name: string, kind: string): string {
  if (!isValidIdentifier(name)) throw new InvalidIdentifierError(name, kind);
  return name;
}

/** Backquotes an identifier that already passed validation. */
export function quoteIdentifier(name: string): string {
  if (!/^[A-Za-z0-9_$]{1,64}$/.test(name)) throw new InvalidIdentifierError(name, 'SQL');
  return '`' + name + '`';
}
