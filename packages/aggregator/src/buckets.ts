/** Rollup levels, their bucket sizes and how bucket boundaries are computed. */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export type LevelName = 'am' | 'ah' | 'ad';

export interface Level {
  readonly name: LevelName;
  /** Bucket size in ms. */
  readonly size: number;
  /** The level this one is computed from (`d` = raw data). */
  readonly source: 'd' | LevelName;
  /** The coarser level computed from this one, if any. */
  readonly parent?: LevelName;
}

export const LEVELS: readonly Level[] = [
  { name: 'am', size: MINUTE_MS, source: 'd', parent: 'ah' },
  { name: 'ah', size: HOUR_MS, source: 'am', parent: 'ad' },
  { name: 'ad', size: DAY_MS, source: 'ah' },
];

export function level(name: LevelName): Level {
  return LEVELS.find((l) => l.name === name)!;
}

/** Start of the bucket holding `ts` (epoch ms), as SQL computes it: FLOOR(ts / size) * size. */
export function bucketStart(ts: number, size: number): number {
  return Math.floor(ts / size) * size;
}

/** The same expression in SQL, for a column or placeholder. */
export function sqlBucket(expr: string, size: number): string {
  return `FLOOR(${expr} / ${size}) * ${size}`;
}

/**
 * Exclusive end of the buckets that may be rolled up at `now`: a bucket
 * [b, b + size) is complete once `now >= b + size + delay`.
 */
export function completeBefore(now: number, size: number, delayMs: number): number {
  return bucketStart(now - delayMs, size);
}

/** Table name of a level for a data type: `d$x`, `am$x`, ... */
export function tableName(levelName: 'd' | LevelName, dataType: string): string {
  return `${levelName}$${dataType}`;
}
