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
