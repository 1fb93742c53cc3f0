import { describe, expect, it } from '@jest/globals';
import { DiscoveryCache } from './discovery-cache.js';
import { parseCatalog, resourceHost } from './ingest/catalog.js';

/** The same document for every agent but its host name, as a fleet of one agent version serves it. */
function discovery(host: string, userType: 'number' | 'string' = 'number') {
  const history = (type: string) => ({
    'x-host': host,
    get: { responses: { '200': { schema: { type: 'array', items: { $ref: `#/definitions/${type}` } } } } },
  });
  return {
    paths: { '/system/cpuuse/all/history': history('cpu_usage'), '/system/memory/memory/history': history('memory') },
    definitions: {
      cpu_usage: { properties: { timestamp: { type: 'number' }, user: { type: userType }, system: { type: 'number' } } },
      memory: { properties: { timestamp: { type: 'number' }, free: { type: 'integer' } } },
    },
  };
}

describe('DiscoveryCache', () => {
  it('shares identical data types, resources and names between agents, keeping each agent its own hosts', () => {
    const cache = new DiscoveryCache({ discoveryRefreshMs: 60_000 });
    const a = cache.set(1, parseCatalog(discovery('host-a')));
    const b = cache.set(2, parseCatalog(discovery('host-b')));
    expect(b.types.get('cpu_usage')).toBe(a.types.get('cpu_usage'));
    expect(b.types.get('memory')).toBe(a.types.get('memory'));
    // One resource map for every agent serving the same paths: what costs memory per agent at 10,000 agents.
    expect(b.resources).toBe(a.resources);
    expect(b.types).toBe(a.types);
    expect(a.resources.get('system/cpuuse/all')).toMatchObject({ dataType: 'cpu_usage', name: 'cpuuse/all' });
    expect(resourceHost(a, 'system/cpuuse/all')).toBe('host-a');
    expect(resourceHost(b, 'system/cpuuse/all')).toBe('host-b');
    // What polling adds to one agent's catalog stays that agent's.
    a.undeclared.add('cpu_usage.nice');
    expect(b.undeclared.has('cpu_usage.nice')).toBe(false);
  });

  it('does not share a type whose definition differs', () => {
    const cache = new DiscoveryCache({ discoveryRefreshMs: 60_000 });
    const a = cache.set(1, parseCatalog(discovery('h')));
    const b = cache.set(2, parseCatalog(discovery('h', 'string')));
    expect(b.types.get('cpu_usage')).not.toBe(a.types.get('cpu_usage'));
    expect(b.types.get('cpu_usage')?.properties).toEqual(['system']);
    expect(a.types.get('cpu_usage')?.properties).toEqual(['user', 'system']);
  });

  it('forgets expired catalogs and the least recently used agents beyond its bound', () => {
    const cache = new DiscoveryCache({ discoveryRefreshMs: 1000, maxAgents: 2 });
    cache.set(1, parseCatalog(discovery('h1')), 0);
    cache.set(2, parseCatalog(discovery('h2')), 0);
    expect(cache.get(1, 10)).toBeDefined(); // agent 1 used last: agent 2 is the one to go
    cache.set(3, parseCatalog(discovery('h3')), 10);
    expect(cache.size).toBe(2);
    expect(cache.get(2, 20)).toBeUndefined();
    expect(cache.get(1, 20)).toBeDefined();
    expect(cache.get(3, 20)).toBeDefined();
    expect(cache.get(1, 1000)).toBeUndefined();
  });

  it('is bounded by the bytes of its catalogs when no count bound is given', () => {
    // Agents each serving paths of their own: nothing shared, each catalog costs its resources.
    const own = (i: number) => {
      const doc = discovery(`h${i}`);
      return { ...doc, paths: { [`/system/cpuuse/c${i}/history`]: doc.paths['/system/cpuuse/all/history'] } };
    };
    const cache = new DiscoveryCache({ discoveryRefreshMs: 60_000, maxBytes: 10_000 });
    for (let i = 0; i < 100; i++) cache.set(i, parseCatalog(own(i)), 0);
    expect(cache.size).toBeGreaterThan(5);
    expect(cache.size).toBeLessThan(20);
    expect(cache.get(99, 0)).toBeDefined();
    expect(cache.get(0, 0)).toBeUndefined();
  });
});
