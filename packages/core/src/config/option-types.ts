import { accessSync, constants, readFileSync } from 'node:fs';
import { z } from 'zod';

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

/** A duration option, returned in milliseconds. */
export function duration(defaultValue: string) {
  return z
    .union([z.string(), z.number()])
    .default(defaultValue)
    .transform((value, ctx) => {
      const ms = parseDurationMs(value);
      if (!Number.isFinite(ms) || ms < 0) {
        ctx.addIssue({ code: 'custom', message: `expected a duration like 500ms, 10s, 5m, 1h, got ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return ms;
    });
}

/** An integer option with bounds, accepting numeric strings. */
export function integer(defaultValue: number, min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.coerce.number().int().min(min).max(max).default(defaultValue);
}

/** A boolean option accepting true/false/1/0/yes/no. */
export function boolean(defaultValue: boolean) {
  return z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
    .default(defaultValue)
    .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');
}

/** A URL option restricted to some schemes. */
export function url(defaultValue: string, schemes: string[]) {
  return z
    .string()
    .default(defaultValue)
    .refine((value) => {
      try {
        return schemes.includes(new URL(value).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    }, `expected a ${schemes.join('/')} URL`);
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
