import { randomInt } from 'node:crypto';
import bcrypt from 'bcryptjs';

/** PHP's PASSWORD_DEFAULT cost, what the front's own `password_hash` writes. */
const BCRYPT_COST = 10;

/**
 * bcrypt reads at most 72 bytes of a password (PHP's too) and ignores the rest
 * silently; a longer one is refused rather than stored as a shorter secret.
 */
const MAX_PASSWORD_BYTES = 72;

export const MIN_FRONT_PASSWORD_LENGTH = 8;

/** Letters and digits without the look-alikes (0/O, 1/l/I), for passwords read off a terminal. */
const ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** Why a password cannot be a front password, or undefined when it can. */
export function frontPasswordProblem(password: string): string | undefined {
  if (password.length < MIN_FRONT_PASSWORD_LENGTH) return `at least ${MIN_FRONT_PASSWORD_LENGTH} characters`;
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) return `at most ${MAX_PASSWORD_BYTES} bytes (bcrypt ignores the rest)`;
  return undefined;
}

/** A crypto-random password (20 characters of a 57-letter alphabet: about 116 bits). */
export function generateFrontPassword(length = 20): string {
  let password = '';
  for (let i = 0; i < length; i++) password += ALPHABET[randomInt(ALPHABET.length)];
  return password;
}

/**
 * The hash the front's `password_verify` accepts, in the form its own
 * `password_hash(…, PASSWORD_DEFAULT)` writes: bcrypt, cost 10, `$2y$`.
 * bcryptjs writes `$2b$`; `$2y$` (PHP's name) and `$2b$` (OpenBSD's) are the
 * same corrected algorithm, so the salt is given PHP's prefix and the hash
 * comes out with it.
 */
export async function hashFrontPassword(password: string): Promise<string> {
  const salt = await bcrypt.genSalt(BCRYPT_COST);
  return bcrypt.hash(password, salt.replace(/^\$2b\$/, '$2y$'));
}

/**
 * The front's check: PHP `password_verify` against `u$users.passhash`. A
 * NULL or malformed hash never matches (bcryptjs throws on some, e.g. bad
 * rounds; PHP returns false).
 */
export async function verifyFrontPassword(password: string, passhash: string | null): Promise<boolean> {
  if (!passhash) return false;
  return bcrypt.compare(password, passhash).catch(() => false);
}
