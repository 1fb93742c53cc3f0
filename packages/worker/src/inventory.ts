import { retryOnDeadlock, type Pool, type RowDataPacket } from '@watched/core';
import type { ResourceSpec } from './ingest/catalog.js';
import { insertBatched } from './sql-batch.js';

/** Widest value of the inventory's VARCHAR(256) name columns. */
export const NAME_COLUMN_CHARS = 256;

/** How to create missing inventory rows (INSERT IGNORE) and read their ids back (a SELECT returning `id` and `k`). */
type InventoryStatements = (missing: string[]) => {
  insert: { table: string; columns: string[]; rows: Array<Array<string | number>> };
  select: [string, unknown[]];
};

/**
 * Ids of hosts, services, service types and resources, created on first
 * sight with INSERT IGNORE against their unique keys (safe when several
 * workers see the same name at once) and cached in memory: names never
 * change id while the row exists.
 */
export class Inventory {
  private readonly hosts = new Map<string, number>();
  private readonly types = new Map<string, number>();
  private readonly services = new Map<string, number>();
  private readonly resources = new Map<string, number>();
  private readonly links = new Set<string>();

  constructor(private readonly pool: Pool) {}

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
    for (const [owner, res] of fresh) this.links.add(`${table}/${owner}/${res}`);
  }

  /** Creations under way in this process, by cache and key: concurrent agents wait instead of racing. */
  private readonly pending = new Map<Map<string, number>, Map<string, Promise<void>>>();

  /**
   * Ids for `keys`, creating the missing rows. Within this process one
   * creation per key is in flight at a time; across processes, rows are
   * inserted in key order (so concurrent INSERT IGNOREs lock in the same
   * order) and a deadlock victim simply runs again.
   */
  private async resolve(
    cache: Map<string, number>,
    keys: string[],
    statements: InventoryStatements,
  ): Promise<Map<string, number>> {
    let inFlight = this.pending.get(cache);
    if (!inFlight) this.pending.set(cache, (inFlight = new Map()));
    const waits = new Set<Promise<void>>();
    const missing: string[] = [];
    for (const key of new Set(keys)) {
      if (cache.has(key)) continue;
      const pending = inFlight.get(key);
      if (pending) waits.add(pending);
      else missing.push(key);
    }
    if (missing.length > 0) {
      missing.sort();
      const creation = this.create(cache, missing, statements);
      for (const key of missing) inFlight.set(key, creation);
      try {
        await creation;
      } finally {
        for (const key of missing) inFlight.delete(key);
      }
    }
    await Promise.all(waits);
    const unresolved = keys.filter((k) => !cache.has(k));
    if (unresolved.length > 0) throw new Error(`could not create inventory rows for ${unresolved.slice(0, 3).join(', ')}`);
    return new Map(keys.map((k) => [k, cache.get(k)!]));
  }

  private async create(
    cache: Map<string, number>,
    missing: string[],
    statements: InventoryStatements,
  ): Promise<void> {
    const { insert, select } = statements(missing);
    await retryOnDeadlock(() => insertBatched(this.pool, { ...insert, mode: 'ignore' }, 1000));
    const [rows] = await this.pool.query<RowDataPacket[]>(select[0], select[1]);
    for (const row of rows) cache.set(String(row.k), Number(row.id));
  }
}

/** The identity of a `c$ressources` row: upstream shares one row per (origin, type, name). */
export function resourceCatalogKey(spec: ResourceSpec): string {
  return `${spec.scope === 'system' ? 'host' : 'service'}|${spec.dataType}|${spec.name}`;
}
