/**
 * Small, fast, platform-independent hashing used to derive every simulated
 * value. Everything is integer arithmetic (Math.imul) so results are the same
 * on every machine; only the final float conversions use Math functions.
 */

const TWO_32 = 4294967296;

/** FNV-1a 32-bit hash of a string (UTF-16 code units). */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function mixInt(h: number, x: number): number {
  let k = Math.imul(x | 0, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finalize(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Hashes a list of numbers (integers up to 2^53 in magnitude; fractions are
 * truncated) into an unsigned 32-bit value.
 */
export function hash(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    const x = Math.trunc(p);
    const lo = x % TWO_32;
    const hi = Math.floor(x / TWO_32);
    h = mixInt(h, lo);
    h = mixInt(h, hi);
  }
  return finalize(h);
}

/** Maps a 32-bit hash to [0, 1). */
export function unit(h: number): number {
  return (h >>> 0) / TWO_32;
}

/** Deterministic value in [0, 1) for the given parts. */
export function rand(...parts: number[]): number {
  return unit(hash(...parts));
}

/** Turns a user seed (number or string) into a 32-bit seed. */
export function seedOf(seed: number | string): number {
  return typeof seed === 'string' ? hashString(seed) : hash(seed, Math.round((seed % 1) * 1e9));
}
