import { accessSync, constants, readFileSync } from 'node:fs';
import { z } from 'zod';
import { hostListRefusal, splitConnectionUrl, type ConnectionUrl } from './connection-url.js';

/** Shared zod building blocks for option schemas: strings from env and flags coerce here. */

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `500ms`, `10s`, `5m`, `1h`, `2d`; a bare number is seconds. Returns ms or NaN. */
export function parseDurationMs(value: string | number): number {
  if (typeof value === 'number') return value * 1000;
  const match = DURATION.exec(value.trim());
  if (!match) return Number.NaN;
  return Number(match[1]) * UNIT_MS[match[2] ?? 's'];
}

export interface DurationOptions {
  /**
   * What 0 means where it is allowed ("never", "off", "forever"); without
   * it 0 is refused: a period of 0 spins a loop, a timeout of 0 fails every call.
   */
  zeroMeans?: string;
}

/** A duration option, returned in milliseconds: longer than 0 unless `zeroMeans` says what 0 does. */
export function duration(defaultValue: string, { zeroMeans }: DurationOptions = {}) {
  const allowed = `a duration like 500ms, 10s, 5m, 1h${zeroMeans ? ` or 0 (${zeroMeans})` : ', longer than 0'}`;
  return z
    .union([z.string(), z.number()])
    .default(defaultValue)
    .transform((value, ctx) => {
      const ms = parseDurationMs(value);
      if (!Number.isFinite(ms) || ms < 0 || (ms === 0 && !zeroMeans)) {
        ctx.addIssue({ code: 'custom', message: `expected ${allowed}, got ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return ms;
    });
}

/** An integer option with bounds, accepting numeric strings. */
export function integer(defaultValue: number, min: number, max = Number.MAX_SAFE_INTEGER) {
  const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
  return z
    .union([z.string(), z.number()])
    .default(defaultValue)
    .transform((value, ctx) => {
      const n = typeof value === 'number' ? value : value.trim() === '' ? Number.NaN : Number(value);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `expected an integer ${range}, got ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return n;
    });
}

const BOOLEAN_WORDS = new Map<string, boolean>([
  ['true', true], ['1', true], ['yes', true],
  ['false', false], ['0', false], ['no', false],
]);

/**
 * The one boolean parser of flags, environment values, config files and URL
 * parameters: true/false, 1/0, yes/no (any case). Undefined for anything
 * else, so each caller names what it was parsing in its own error.
 */
export function parseBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  return typeof value === 'string' ? BOOLEAN_WORDS.get(value.trim().toLowerCase()) : undefined;
}

const BOOLEAN_EXPECTED = 'expected true/false, 1/0 or yes/no';

function booleanSchema() {
  return z.union([z.boolean(), z.string()]).transform((value, ctx) => {
    const flag = parseBoolean(value);
    if (flag === undefined) {
      ctx.addIssue({ code: 'custom', message: `${BOOLEAN_EXPECTED}, got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return flag;
  });
}

/** A boolean option accepting true/false/1/0/yes/no. */
export function boolean(defaultValue: boolean) {
  return booleanSchema().default(defaultValue);
}

/** A boolean option without default: undefined when not given (something else then decides, e.g. a URL's parameter). */
export function optionalBoolean() {
  return booleanSchema().optional();
}

/**
 * A connection URL option restricted to some schemes, read by the same
 * splitter as the connections (so a host list is refused here, by name,
 * unless its scheme takes one: `hostListSchemes`).
 */
export function connectionUrl(defaultValue: string, schemes: string[], hostListSchemes: readonly string[] = []) {
  return z
    .string()
    .default(defaultValue)
    .superRefine((value, ctx) => {
      let parts: ConnectionUrl;
      try {
        parts = splitConnectionUrl(value, 'url');
      } catch {
        ctx.addIssue({ code: 'custom', message: `expected a ${schemes.join('/')} URL` });
        return;
      }
      const refused = !schemes.includes(parts.scheme)
        ? `expected a ${schemes.join('/')} URL`
        : hostListSchemes.includes(parts.scheme)
          ? undefined
          : hostListRefusal(parts);
      if (refused) ctx.addIssue({ code: 'custom', message: refused });
    });
}

/** Schemas of `<secret>File` options, mapped to the secret option they fill. */
const SECRET_FILE_TARGETS = new WeakMap<z.ZodType, string>();

/** The secret option a `<secret>File` option fills, or undefined for any other option. */
export function secretFileTarget(schema: z.ZodType): string | undefined {
  return SECRET_FILE_TARGETS.get(schema);
}

/**
 * A secret option and its `<key>File` twin (`--mysql-password-file`,
 * `WATCHED_MYSQL_PASSWORD_FILE`), the way Kubernetes Secrets and Docker
 * secrets are mounted: loadOptions reads the file (one trailing newline
 * dropped) into `key`, so the secret need not sit in the environment or on
 * the command line. Giving both is refused. Errors never quote the value.
 */
export function secretOption<K extends string, S extends z.ZodType>(key: K, schema: S): { [P in K]: S } & { [P in `${K}File`]: z.ZodOptional<z.ZodString> } {
  const file = z.string().min(1).optional().describe(`file holding ${key} (e.g. a mounted Kubernetes Secret)`);
  SECRET_FILE_TARGETS.set(file, key);
  return { [key]: schema, [`${key}File`]: file } as { [P in K]: S } & { [P in `${K}File`]: z.ZodOptional<z.ZodString> };
}

/**
 * A path to a readable file (a CA bundle, a certificate, a key), checked when
 * options are loaded so a typo stops start-up naming the option; the content
 * is read by the code using it.
 */
export function filePath(description: string) {
  return z
    .string()
    .min(1)
    .superRefine((path, ctx) => {
      try {
        accessSync(path, constants.R_OK);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      }
    })
    .optional()
    .describe(description);
}

/**
 * Reads a secret from a file (a mounted Secret): one trailing newline, which
 * editors and `echo` add, is not part of it. Errors name the path, never the content.
 */
export function readSecretFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  text = text.replace(/\r?\n$/, '');
  if (text === '') throw new Error(`${path} is empty`);
  return text;
}
