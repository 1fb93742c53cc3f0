import type { AgentCatalog } from './ingest/catalog.js';

interface Entry {
  catalog: AgentCatalog;
  fetchedAt: number;
}

/**
 * Discovery documents per agent, trusted for `refreshMs`. Workers are
 * stateless: a miss just means one more `/api/swagger.json` call.
 */
export class DiscoveryCache {
  private readonly entries = new Map<number, Entry>();

  constructor(private readonly refreshMs: number) {}

  get(agentId: number, now = Date.now()): AgentCatalog | undefined {
    const entry = this.entries.get(agentId);
    if (!entry || now - entry.fetchedAt >= this.refreshMs) return undefined;
    return entry.catalog;
  }

  set(agentId: number, catalog: AgentCatalog, now = Date.now()): void {
    this.entries.set(agentId, { catalog, fetchedAt: now });
  }

  delete(agentId: number): void {
    this.entries.delete(agentId);
  }
}
