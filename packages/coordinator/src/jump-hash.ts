/**
 * Jump consistent hash (Lamping & Veach): maps a key to one of `buckets`
 * so that growing from n to n+1 buckets moves only about 1/(n+1) of keys,
 * in O(log buckets) time. The pseudo-random stream only has to be
 * deterministic per key, so a 32-bit splitmix generator replaces the
 * paper's 64-bit LCG (no BigInt in the hot loop).
 */
export function jumpHash(key: number, buckets: number): number {
  if (buckets <= 1) return 0;
  let state = mix32(key >>> 0) ^ 0x9e3779b9;
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    state = (state + 0x9e3779b9) | 0;
    const r = (mix32(state) >>> 0) / 4294967296; // [0, 1)
    j = Math.floor((b + 1) / (1 - r)); // 1 - r is in (0, 1]
  }
  return b;
}

/** A 32-bit integer finaliser (from splitmix/murmur3), well spread for sequential ids. */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}
