import { retryOnDeadlock, type Pool, type RowDataPacket } from '@watched/core';
import type { ResourceSpec } from './ingest/catalog.js';
import type { LRUCache } from 'lru-cache';
import { boundedCache } from './bounded-cache.js';
import { insertBatched } from './sql-batch.js';

/**
 * Bytes each cache may hold, estimated per entry (names are at most 256
 * characters, agent-value-checks): 16 MiB x 6 caches is part of the
 * worker's base memory (docs/agent-limits.md), whatever names agents invent.
 * 10,000 agents (a host, ~3 services, ~27 resource links each) need ~1 MiB
 * of host ids, ~3.5 MiB of service ids and ~4 MiB of links.
 */
export const INVENTORY_CACHE_BYTES = 16 * 1024 * 1024;

/** A name's id: the key string (up to 2 bytes a character), its map entry and lru-cache's five slots. */
function idBytes(_value: unknown, key: string): number {
  return 96 + key.length * 2;
}

/** An owner's linked resource ids: its map entry and slots, the array and 8 bytes an id. */
function linkBytes(resIds: readonly number[]): number {
  return 128 + resIds.length * 8;
}

type LinkTable = 'h$ressources' | 's$ressources';

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
  /**
   * Resource ids already linked, per owner id (host or service): one entry
   * per owner rather than per link, so 10,000 agents' ~270,000 links fit
   * in ~4 MiB and are not forgotten and re-inserted on every poll.
   */
  private readonly links: Record<LinkTable, LRUCache<number, number[]>>;

  /** `maxEntries`: a count bound per cache besides the byte bound (tests); none by default. */
  constructor(
    private readonly pool: Pool,
    maxEntries?: number,
  ) {
    const ids = () => boundedCache<string, number>(INVENTORY_CACHE_BYTES, idBytes, maxEntries);
    this.hosts = ids();
    this.types = ids();
    this.services = ids();
    this.resources = ids();
    const links = () => boundedCache<number, number[]>(INVENTORY_CACHE_BYTES, linkBytes, maxEntries);
    this.links = { 'h$ressources': links(), 's$ressources': links() };
  }

  /** Forgets every cached id (after an admin deleted rows, or in tests). */
  clear(): void {
    for (const cache of [this.hosts, this.types, this.services, this.resources]) cache.clear();
    for (const cache of Object.values(this.links)) cache.clear();
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
  async link(table: LinkTable, pairs: Array<[number, number]>): Promise<void> {
    const cache = this.links[table];
    const known = new Map<number, Set<number>>();
    const fresh: Array<[number, number]> = [];
    for (const [owner, res] of pairs) {
      let linked = known.get(owner);
      if (!linked) known.set(owner, (linked = new Set(cache.get(owner))));
      if (linked.has(res)) continue;
      linked.add(res);
      fresh.push([owner, res]);
    }
    if (fresh.length === 0) return;
    const ownerColumn = table === 'h$ressources' ? 'host_id' : 'serv_id';
    fresh.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    await retryOnDeadlock(() => insertBatched(this.pool, { table, columns: [ownerColumn, 'res_id'], rows: fresh, mode: 'ignore' }, 1000));
    // Merged with what a concurrent call for the same owner may have cached meanwhile.
    for (const owner of new Set(fresh.map(([o]) => o))) cache.set(owner, [...new Set([...(cache.get(owner) ?? []), ...known.get(owner)!])]);
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
