/** Shared error classes: every package throws these so callers can tell causes apart. */

/** A configuration value is missing or invalid; `field` names the offending option. */
export class ConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`invalid option ${field}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** A method was called in a lifecycle state that does not allow it. */
export class IllegalStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IllegalStateError';
  }
}

/** A migration could not be applied or the ledger disagrees with the files. */
export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

/**
 * A process cannot start because of what it depends on: a server that does
 * not answer, a program that is not installed, a private server that did not
 * come up. The message says what is wrong and what to do, in one line: the
 * CLI prints it alone (no stack) and exits with code 1.
 */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/**
 * A server a command needs does not answer or refuses us: `MySQL at
 * db:3306 is unreachable: connect ECONNREFUSED`. One line, exit code 1,
 * like every StartupError.
 */
export class DependencyError extends StartupError {
  constructor(
    readonly dependency: string,
    readonly target: string,
    reason: string,
  ) {
    super(`${dependency} at ${target} is unreachable: ${reason}`);
    this.name = 'DependencyError';
  }
}

/** An identifier coming from an agent cannot be used as a MySQL name. */
export class InvalidIdentifierError extends Error {
  constructor(
    readonly identifier: string,
    readonly kind: string,
  ) {
    super(`invalid ${kind} name ${JSON.stringify(identifier.slice(0, 80))}`);
    this.name = 'InvalidIdentifierError';
  }
}

/** Returns a short message of any thrown value, for logs. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
