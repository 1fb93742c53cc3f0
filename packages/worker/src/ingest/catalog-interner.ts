import type { AgentCatalog, DataTypeSpec, ResourceSpec } from './catalog.js';

/** What interning one catalog found: whether its resource map is one other agents already had (so it costs this agent nothing). */
export interface Interned {
  catalog: AgentCatalog;
  sharedResources: boolean;
}

/**
 * Shares what the catalogs of many agents have in common. A fleet serves a
 * few swagger documents that differ only by host name: every agent's data
 * types are the same definitions, and its resources the same paths. Parsed
 * per agent, 10,000 agents held 10,000 copies (~22 KB each, measured on the
 * simulated agent's document); with types and names interned, ~4 KB each
 * (~41 MB, measured), most of it the agent's resource map and its specs.
 * Resources carry no host (the catalog keeps it, resourceHost), so agents
 * serving the same paths now share one resource map and one type map, and
 * per agent only its host, its problems and its undeclared names remain.
 *
 * Types are shared by content (name, owner, properties, declared names), so
 * an agent serving a different definition of a type gets its own object;
 * resource and type maps are shared by content too. Every pool is bounded:
 * past `maxEntries` (types, strings, or resources of the shared maps) it
 * starts afresh (the catalogs already built keep their objects; only future
 * sharing is lost), so a hostile fleet inventing names cannot grow them
 * without limit.
 */
export class CatalogInterner {
  private readonly types = new Map<string, DataTypeSpec>();
  private readonly strings = new Map<string, string>();
  private readonly resourceMaps = new Map<string, Map<string, ResourceSpec>>();
  private resourceMapEntries = 0;
  private readonly typeMaps = new Map<string, Map<string, DataTypeSpec>>();

  constructor(private readonly maxEntries = 50_000) {}

  /** `catalog` with its types, resources and names replaced by shared instances. */
  intern(catalog: AgentCatalog): Interned {
    const types = new Map<string, DataTypeSpec>();
    const typeKeys: string[] = [];
    for (const [name, type] of catalog.types) {
      const [key, shared] = this.type(type);
      typeKeys.push(key);
      types.set(this.string(name), shared);
    }
    catalog.types = this.typeMap(typeKeys.join('\u0001'), types);
    const [resources, sharedResources] = this.resourceMap(catalog.resources);
    catalog.resources = resources;
    catalog.host = this.string(catalog.host);
    if (catalog.hostOf) catalog.hostOf = new Map([...catalog.hostOf].map(([key, host]) => [this.string(key), this.string(host)]));
    return { catalog, sharedResources };
  }

  /** Distinct data types, strings and resource maps held (tests, diagnostics). */
  get size(): { types: number; strings: number; resourceMaps: number } {
    return { types: this.types.size, strings: this.strings.size, resourceMaps: this.resourceMaps.size };
  }

  private type(type: DataTypeSpec): [string, DataTypeSpec] {
    const key = `${type.name}\n${type.owner}\n${type.properties.join(',')}\n${[...type.declared].join(',')}`;
    const known = this.types.get(key);
    if (known) return [key, known];
    if (this.types.size >= this.maxEntries) this.types.clear();
    this.types.set(key, type);
    return [key, type];
  }

  /** One map per distinct list of (interned) types. */
  private typeMap(signature: string, types: Map<string, DataTypeSpec>): Map<string, DataTypeSpec> {
    const known = this.typeMaps.get(signature);
    // The same type keys may name types interned before a clear of `types`: share only identical objects.
    if (known && known.size === types.size && [...types].every(([name, type]) => known.get(name) === type)) return known;
    if (this.typeMaps.size >= this.maxEntries) this.typeMaps.clear();
    this.typeMaps.set(signature, types);
    return types;
  }

  /** The shared map of these resources (by content: key, data type, service), and whether it was shared already. */
  private resourceMap(resources: Map<string, ResourceSpec>): [Map<string, ResourceSpec>, boolean] {
    const parts: string[] = [];
    for (const [key, spec] of resources) parts.push(`${key}\u0000${spec.dataType}\u0000${spec.service ?? '\u0002'}`);
    const signature = parts.join('\u0001');
    const known = this.resourceMaps.get(signature);
    if (known) return [known, true];
    const shared = new Map<string, ResourceSpec>();
    for (const [key, spec] of resources) shared.set(this.string(key), this.resource(spec));
    if (this.resourceMapEntries + shared.size > this.maxEntries) {
      this.resourceMaps.clear();
      this.resourceMapEntries = 0;
    }
    if (shared.size <= this.maxEntries) {
      this.resourceMaps.set(signature, shared);
      this.resourceMapEntries += shared.size;
    }
    return [shared, false];
  }

  private resource(spec: ResourceSpec): ResourceSpec {
    const shared: ResourceSpec = {
      scope: spec.scope,
      collector: this.string(spec.collector),
      resource: this.string(spec.resource),
      name: this.string(spec.name),
      dataType: this.string(spec.dataType),
    };
    if (spec.service !== undefined) shared.service = this.string(spec.service);
    return shared;
  }

  /**
   * One copy of each name. Strings cut from a path (`split`) may be slices
   * that keep the whole path alive; the interned copy is flattened once.
   */
  private string(value: string): string {
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    if (this.strings.size >= this.maxEntries) this.strings.clear();
    const copy = flatten(value);
    this.strings.set(copy, copy);
    return copy;
  }
}

/** A fresh flat copy of `value`, holding no reference to the string it was cut from. */
function flatten(value: string): string {
  return Buffer.from(value, 'utf8').toString('utf8');
}
