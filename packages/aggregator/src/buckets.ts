/** How bucket boundaries are computed (the levels and their sizes: core's contracts/rollups.ts). */

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
