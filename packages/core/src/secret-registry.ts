/**
 * The secret values this process was configured with (passwords, tokens,
 * HMAC keys, URL credentials), collected when options are compiled, so that
 * any text about to leave the process (a log line, a console line, a status
 * answer) can be scrubbed of them by value. Pattern redaction
 * (log-redaction.ts) catches secrets by their shape; this catches them
 * wherever a library put them (an ioredis `command.args` dump, a mysql2
 * options object, a URL-encoded query string), whatever their shape.
 */

export const SCRUBBED = '***';

/**
 * Shorter values are not registered: scrubbing a 1- or 2-character string
 * out of every line would make logs unreadable, and such a secret protects
 * nothing anyway.
 */
const MIN_SECRET_LENGTH = 3;

/** Metadata and option keys whose value is a secret whatever it looks like. */
export const SECRET_KEY = /^pass$|passw(or)?d|passphrase|secret|token|api[-_]?key|private[-_]?key|hmac|^key$|authorization|credential|cookie/i;

/** Every spelling of a secret that can appear in text: as given, and encoded as URLs and form bodies carry it. */
function spellings(value: string): string[] {
  const forms = new Set([value, encodeURIComponent(value), encodeURI(value)]);
  forms.add(encodeURIComponent(value).replace(/%20/g, '+'));
  forms.add(JSON.stringify(value).slice(1, -1));
  return [...forms].filter((form) => form.length >= MIN_SECRET_LENGTH);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class SecretRegistry {
  private readonly values = new Set<string>();
  /** One alternation of every spelling, longest first (a secret containing another is replaced whole); rebuilt on change. */
  private pattern?: RegExp;

  /** Remembers a secret value (and its encoded forms); empty or very short values are ignored. */
  add(value: unknown): void {
    if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) return;
    const before = this.values.size;
    for (const form of spellings(value)) this.values.add(form);
    if (this.values.size !== before) this.pattern = undefined;
  }

  /**
   * Registers every secret found in a compiled options value: strings under
   * secret-named keys (at any depth: receivers' `auth.pass`, a webhook's
   * `secret`, headers' `Authorization`) and the password of any URL.
   */
  addFrom(value: unknown, key = '', depth = 0): void {
    if (depth > 8 || value == null) return;
    if (typeof value === 'string') {
      // `mysqlPasswordFile` names where the secret is, not the secret.
      if (SECRET_KEY.test(key) && !/file$/i.test(key)) this.add(value);
      this.addUrlCredentials(value);
      return;
    }
    if (typeof value !== 'object' || Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return;
    for (const [k, item] of Object.entries(value)) this.addFrom(item, Array.isArray(value) ? key : k, depth + 1);
  }

  private addUrlCredentials(text: string): void {
    if (!text.includes('://') || !text.includes('@')) return;
    try {
      const url = new URL(text);
      if (url.password) {
        this.add(url.password);
        this.add(decodeURIComponent(url.password));
      }
    } catch {
      // Not a URL: nothing to take.
    }
  }

  get size(): number {
    return this.values.size;
  }

  /** `text` with every known secret replaced by `***`. */
  scrub(text: string): string {
    if (this.values.size === 0 || text.length < MIN_SECRET_LENGTH) return text;
    this.pattern ??= new RegExp(
      [...this.values]
        .sort((a, b) => b.length - a.length)
        .map(escapeRegExp)
        .join('|'),
      'g',
    );
    return text.replace(this.pattern, SCRUBBED);
  }

  /** Forgets every value (tests). */
  clear(): void {
    this.values.clear();
    this.pattern = undefined;
  }
}

/** The process's secrets: filled by option compilation, read by the logger, the console output and the CLI. */
export const secrets = new SecretRegistry();
