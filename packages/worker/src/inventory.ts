import { retryOnDeadlock, type Pool, type RowDataPacket } from '@watched/core';
import type { ResourceSpec } from './ingest/catalog.js';
import { LRUCache } from 'lru-cache';
import { insertBatched } from './sql-batch.js';

/**
 * Ids kept per kind (hosts, services, types, resources, links): the least
 * recently used beyond it are read again on their next use. Per entry
 * ~60-100 bytes: 10,000 agents (a host, ~3 services, ~27 resource links
 * each) need ~300,000 entries in all.
 */
export const DEFAULT_INVENTORY_ENTRIES = 500_000;

/**
 * Bytes each cache may hold, estimated per entry from its key (names are at
 * most 256 characters, agent-value-checks): 16 MiB x 5 caches is part of the
 * worker's base memory (docs/agent-limits.md), whatever names agents invent.
 */
export const INVENTORY_CACHE_BYTES = 16 * 1024 * 1024;

function entryBytes(_value: unknown, key: string): number {
  return 64 + key.length * 2;
}
/** How to create missing inventory rows (INSERT IGNORE) and read their ids back (a SELECT returning `id` and `k`). */
type InventoryStatements = (missing: string[]) => {
  insert: { table: string; columns: string[]; rows: Array<Array<string | number>> };
  select: [string, unknown[]];
};

/**
 * Ids of hosts, services, service types and resources, created on first
 * sight with INSERT IGNORE against their unique keys (safe when several
 * workers see the same name at once) and cached in memory: names never
 * change id while the row exists. Each cache is bounded (least recently
 * used forgotten first): a forgotten id is read again, never lost.
 */
export class Inventory {
  private readonly hosts: LRUCache<string, number>;
  private readonly types: LRUCache<string, number>;
  private readonly services: LRUCache<string, number>;
  private readonly resources: LRUCache<string, number>;
  private readonly links: LRUCache<string, true>;

  constructor(
    private readonly pool: Pool,
    maxEntries = DEFAULT_INVENTORY_ENTRIES,
  ) {
    const bounds = { max: maxEntries, maxSize: INVENTORY_CACHE_BYTES, sizeCalculation: entryBytes };
    this.hosts = new LRUCache<string, number>(bounds);
    this.types = new LRUCache<string, number>(bounds);
    this.services = new LRUCache<string, number>(bounds);
    this.resources = new LRUCache<string, number>(bounds);
    this.links = new LRUCache<string, true>(bounds);
  }

  /** Forgets every cached id (after an admin deleted rows, or in tests). */
  clear(): void {
    for (const cache of [this.hosts, this.types, this.services, this.resources]) cache.clear();
    this.links.clear();
  }

  async hostIds(names: string[]): Promise<Map<string, number>> {
    return this.resolve(this.hosts, names, (missing) => ({
      insert: { table: 'h$hosts', columns: ['name'], rows: missing.map((n) => [n]) },
      select: ['SELECT id, name AS k FROM `h$hosts` WHERE name IN (?)', [missing]],
    }));
  }

  async serviceTypeIds(names: string[]): Promise<Map<string, number>> {
    return this.resolve(this.types, names, (missing) => ({
      insert: { table: 's$types', columns: ['name'], rows: missing.map((n) => [n]) },
      select: ['SELECT id, name AS k FROM `s$types` WHERE name IN (?)', [missing]],
    }));
  }

  /** Services by `hostId/name`; the type is set on creation and refreshed by `updateServiceTypes`. */
  async serviceIds(services: Array<{ hostId: number; name: string; typeId: number }>): Promise<Map<string, number>> {
    const byKey = new Map(services.map((s) => [`${s.hostId}/${s.name}`, s]));
    return this.resolve(this.services, [...byKey.keys()], (missing) => ({
      insert: {
        table: 's$services',
        columns: ['host_id', 'type_id', 'name'],
        rows: missing.map((k) => [byKey.get(k)!.hostId, byKey.get(k)!.typeId, byKey.get(k)!.name]),
      },
      select: [
        "SELECT id, CONCAT(host_id, '/', name) AS k FROM `s$services` WHERE (host_id, name) IN (?)",
        [missing.map((k) => [byKey.get(k)!.hostId, byKey.get(k)!.name])],
      ],
    }));
  }

  /** `c$ressources` ids by `resourceCatalogKey()`: shared by every host having that resource. */
  async resourceIds(specs: ResourceSpec[]): Promise<Map<string, number>> {
    const byKey = new Map(specs.map((s) => [resourceCatalogKey(s), s]));
    const row = (k: string) => {
      const s = byKey.get(k)!;
      return [s.dataType, s.name, s.scope === 'system' ? 'host' : 'service'];
    };
    return this.resolve(this.resources, [...byKey.keys()], (missing) => ({
      insert: { table: 'c$ressources', columns: ['data_type', 'name', 'origin'], rows: missing.map(row) },
      select: [
        "SELECT id, CONCAT(origin, '|', data_type, '|', name) AS k FROM `c$ressources` WHERE (data_type, name, origin) IN (?)",
        [missing.map(row)],
      ],
    }));
  }

  /** Links owners to resources (`h$ressources` / `s$ressources`), once per process. */
  async link(table: 'h$ressources' | 's$ressources', pairs: Array<[number, number]>): Promise<void> {
    const fresh = pairs.filter(([owner, res]) => !this.links.has(`${table}/${owner}/${res}`));
    if (fresh.length === 0) return;
    const ownerColumn = table === 'h$ressources' ? 'host_id' : 'serv_id';
    fresh.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    await retryOnDeadlock(() => insertBatched(this.pool, { table, columns: [ownerColumn, 'res_id'], rows: fresh, mode: 'ignore' }, 1000));
    for (const [owner, res] of fresh) this.links.set(`${table}/${owner}/${res}`, true);
  }

  /** Creations under way in this process, by cache and key: concurrent agents wait instead of racing. */
  private readonly pending = new Map<LRUCache<string, number>, Map<string, Promise<Map<string, number>>>>();

  /**
   * Ids for `keys`, creating the missing rows. Within this process one
   * creation per key is in flight at a time; across processes, rows are
   * inserted in key order (so concurrent INSERT IGNOREs lock in the same
   * order) and a deadlock victim simply runs again. The answer is built from
   * what this call found and read, not re-read from the cache, which may
   * have dropped an entry meanwhile.
   */
  private async resolve(
    cache: LRUCache<string, number>,
    keys: string[],
    statements: InventoryStatements,
  ): Promise<Map<string, number>> {
    let inFlight = this.pending.get(cache);
    if (!inFlight) this.pending.set(cache, (inFlight = new Map()));
    const found = new Map<string, number>();
    const waits = new Set<Promise<Map<string, number>>>();
    const missing: string[] = [];
    for (const key of new Set(keys)) {
      const id = cache.get(key);
      if (id !== undefined) {
        found.set(key, id);
        continue;
      }
      const pending = inFlight.get(key);
      if (pending) waits.add(pending);
      else missing.push(key);
    }
    if (missing.length > 0) {
      missing.sort();
      const creation = this.create(cache, missing, statements);
      for (const key of missing) inFlight.set(key, creation);
      try {
        for (const [key, id] of await creation) found.set(key, id);
      } finally {
        for (const key of missing) inFlight.delete(key);
      }
    }
    for (const created of await Promise.all(waits)) for (const [key, id] of created) found.set(key, id);
    const unresolved = keys.filter((k) => !found.has(k));
    if (unresolved.length > 0) {
      // A row exists under the column's collation (h$hosts, s$types, s$services compare without case and accents) but spelt otherwise.
      throw new Error(`no inventory row matches ${unresolved.slice(0, 3).map((k) => JSON.stringify(k.slice(0, 80))).join(', ')} exactly: a stored name differs only in case or accents`);
    }
    return new Map(keys.map((k) => [k, found.get(k)!]));
  }

  private async create(
    cache: LRUCache<string, number>,
    missing: string[],
    statements: InventoryStatements,
  ): Promise<Map<string, number>> {
    const { insert, select } = statements(missing);
    await retryOnDeadlock(() => insertBatched(this.pool, { ...insert, mode: 'ignore' }, 1000));
    const [rows] = await this.pool.query<RowDataPacket[]>(select[0], select[1]);
    const ids = new Map(rows.map((row) => [String(row.k), Number(row.id)]));
    for (const [key, id] of ids) cache.set(key, id);
    return ids;
  }
}

/** The identity of a `c$ressources` row: upstream shares one row per (origin, type, name). */
export function resourceCatalogKey(spec: ResourceSpec): string {
  return `${spec.scope === 'system' ? 'host' : 'service'}|${spec.dataType}|${spec.name}`;
}
