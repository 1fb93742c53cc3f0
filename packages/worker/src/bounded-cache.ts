import { LRUCache } from 'lru-cache';

/**
 * A least-recently-used cache bounded by the estimated bytes of its entries
 * (`sizeOf`), and by `maxEntries` only when one is given. lru-cache allocates
 * its key, value and link arrays for `max` entries up front: the bound of
 * 500,000 entries the inventory caches had cost ~17 MB each before a single
 * id was cached (~90 MB of a worker's RSS for its five caches and the
 * discovery catalogs, measured). Without `max` those arrays grow with the
 * entries actually held, and the byte bound alone caps them.
 */
export function boundedCache<K extends {}, V extends {}>(
  maxBytes: number,
  sizeOf: (value: V, key: K) => number,
  maxEntries?: number,
): LRUCache<K, V> {
  return new LRUCache<K, V>({ ...(maxEntries ? { max: maxEntries } : {}), maxSize: maxBytes, sizeCalculation: sizeOf });
}
