import type { AgentCatalog } from './ingest/catalog.js';
import { CatalogInterner } from './ingest/catalog-interner.js';
import type { LRUCache } from 'lru-cache';
import { boundedCache } from './bounded-cache.js';

interface Entry {
  catalog: AgentCatalog;
  fetchedAt: number;
  /** Its resource map was another agent's already (CatalogInterner): this agent holds only a reference. */
  sharedResources: boolean;
}

export interface DiscoveryCacheOptions {
  /** How long a catalog is trusted (the worker option, by its compiled name). */
  discoveryRefreshMs: number;
  /**
   * Agents whose catalog is kept; the least recently used beyond it are
   * forgotten (their next poll reads discovery again). Default: no count
   * bound, only maxBytes (a count bound preallocates its arrays: see boundedCache).
   */
  maxAgents?: number;
  /** Estimated bytes of all catalogs kept (entryBytes); default 64 MiB, part of the worker's base memory. */
  maxBytes?: number;
}

/**
 * What one kept catalog costs once interned: its own objects, and per
 * resource a map entry and a spec (~160 B) unless the map was shared
 * already (the agent that brought it pays for it); hosts apart from the
 * catalog's own a map entry each.
 */
function entryBytes(entry: Entry): number {
  const { catalog } = entry;
  return 512 + (entry.sharedResources ? 0 : catalog.resources.size * 160) + catalog.types.size * 64 + (catalog.hostOf?.size ?? 0) * 160;
}

/**
 * Catalogs (what polling needs from a discovery document, not the
 * document) per agent, trusted for `discoveryRefreshMs`, with their data
 * types, resources and names shared between agents (CatalogInterner). Workers are stateless: a
 * miss just means one more `/api/swagger.json` call.
 */
export class DiscoveryCache {
  private readonly entries: LRUCache<number, Entry>;
  private readonly interner = new CatalogInterner();
  private readonly refreshMs: number;

  constructor(options: DiscoveryCacheOptions) {
    this.refreshMs = options.discoveryRefreshMs;
    // Bounded by count and by size: agents declaring thousands of resources cannot grow it past maxBytes.
    this.entries = boundedCache(options.maxBytes ?? 64 * 1024 * 1024, entryBytes, options.maxAgents);
  }

  get(agentId: number, now = Date.now()): AgentCatalog | undefined {
    const entry = this.entries.get(agentId);
    if (!entry) return undefined;
    if (now - entry.fetchedAt >= this.refreshMs) {
      this.entries.delete(agentId);
      return undefined;
    }
    return entry.catalog;
  }

  /** Keeps `catalog` (interned) for `agentId` and returns the kept instance. */
  set(agentId: number, catalog: AgentCatalog, now = Date.now()): AgentCatalog {
    const { catalog: kept, sharedResources } = this.interner.intern(catalog);
    this.entries.set(agentId, { catalog: kept, fetchedAt: now, sharedResources });
    return kept;
  }

  delete(agentId: number): void {
    this.entries.delete(agentId);
  }

  get size(): number {
    return this.entries.size;
  }
}
