import type { AgentCatalog } from './ingest/catalog.js';
import { CatalogInterner } from './ingest/catalog-interner.js';
import { LRUCache } from 'lru-cache';

interface Entry {
  catalog: AgentCatalog;
  fetchedAt: number;
}

export interface DiscoveryCacheOptions {
  /** How long a catalog is trusted (the worker option, by its compiled name). */
  discoveryRefreshMs: number;
  /**
   * Agents whose catalog is kept; the least recently used beyond it are
   * forgotten (their next poll reads discovery again). Default 100,000:
   * ~1-2 KB per agent once interned.
   */
  maxAgents?: number;
  /** Estimated bytes of all catalogs kept (entryBytes); default 64 MiB, part of the worker's base memory. */
  maxBytes?: number;
}

/** What one kept catalog costs once interned: its maps, and per resource a map entry and a shared spec (~160 B). */
function entryBytes(entry: Entry): number {
  return 512 + entry.catalog.resources.size * 160 + entry.catalog.types.size * 64;
}

/**
 * Catalogs (what polling needs from a discovery document, not the
 * document) per agent, trusted for `discoveryRefreshMs`, with their data types and
 * names shared between agents (CatalogInterner). Workers are stateless: a
 * miss just means one more `/api/swagger.json` call.
 */
export class DiscoveryCache {
  private readonly entries: LRUCache<number, Entry>;
  private readonly interner = new CatalogInterner();
  private readonly refreshMs: number;

  constructor(options: DiscoveryCacheOptions) {
    this.refreshMs = options.discoveryRefreshMs;
    // Bounded by count and by size: agents declaring thousands of resources cannot grow it past maxBytes.
    this.entries = new LRUCache({ max: options.maxAgents ?? 100_000, maxSize: options.maxBytes ?? 64 * 1024 * 1024, sizeCalculation: entryBytes });
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
    const kept = this.interner.intern(catalog);
    this.entries.set(agentId, { catalog: kept, fetchedAt: now });
    return kept;
  }

  delete(agentId: number): void {
    this.entries.delete(agentId);
  }

  get size(): number {
    return this.entries.size;
  }
}
