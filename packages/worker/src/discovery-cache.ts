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
    this.entries = new LRUCache({ max: options.maxAgents ?? 100_000 });
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
