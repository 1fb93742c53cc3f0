import { isValidIdentifier } from '@watched/core';
import { limitReason, type AgentLimits } from './limits.js';

/** A data type (a `d$<name>` table) and its numeric columns. */
export interface DataTypeSpec {
  name: string;
  /** host types are keyed by host_id, service types by serv_id. */
  owner: 'host' | 'service';
  properties: string[];
  /** Every property name the definition declares (numeric or not, valid or not). */
  declared: Set<string>;
}

/** One `/history` path of the discovery document. */
export interface ResourceSpec {
  scope: 'system' | 'service';
  /** Service id for service resources. */
  service?: string;
  collector: string;
  resource: string;
  /** `collector/resource`, as upstream names it. */
  name: string;
  dataType: string;
}

/** What one agent offers, read from its `/api/swagger.json`. */
export interface AgentCatalog {
  types: Map<string, DataTypeSpec>;
  /**
   * Keyed by `resourceKey()`. Host-free, so agents serving the same paths
   * share one map (CatalogInterner); each path's `x-host` is resourceHost().
   */
  resources: Map<string, ResourceSpec>;
  /** `x-host` of the resources (of the first one; those naming another host are in `hostOf`). */
  host: string;
  /** `x-host` of the resources naming another host than `host`, by `resourceKey()` (an agent speaking for several hosts). */
  hostOf?: Map<string, string>;
  /** Names refused (invalid identifiers, malformed paths), for the agent's error record. */
  problems: string[];
  /**
   * `type.property` names rows carry although discovery does not declare
   * them: known, so they do not trigger another discovery read each poll.
   */
  undeclared: Set<string>;
  /** The limit the document went past (reading stopped there): this agent's polls are refused for it. */
  refused?: string;
}

/**
 * Bounds on what one agent can make us create: InnoDB keeps a row under about
 * 8 KB and 1,017 columns, and every data type is a table (and three rollups).
 */
export const MAX_PROPERTIES_PER_TYPE = 250;
export const MAX_TYPES_PER_AGENT = 200;

/** The `x-host` of the resource `key` of `catalog`. */
export function resourceHost(catalog: Pick<AgentCatalog, 'host' | 'hostOf'>, key: string): string {
  return catalog.hostOf?.get(key) ?? catalog.host;
}

export function resourceKey(scope: 'system' | 'service', collector: string, resource: string, service?: string): string {
  return scope === 'system' ? `system/${collector}/${resource}` : `service/${service}/${collector}/${resource}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function definitionName(ref: unknown): string | undefined {
  if (typeof ref !== 'string') return undefined;
  const name = ref.split('/').at(-1);
  return name || undefined;
}

function readDataType(name: string, definition: unknown, problems: string[]): DataTypeSpec | undefined {
  if (!isObject(definition)) return undefined;
  const flag = definition['x-isService'];
  if (flag === false) return undefined; // the agent's own payloads (status, logs): not data tables
  if (!isValidIdentifier(name)) {
    problems.push(`data type ${JSON.stringify(name.slice(0, 80))} is not a valid name`);
    return undefined;
  }
  const properties: string[] = [];
  const seen = new Set<string>(); // MySQL column names are case-insensitive
  const declared = isObject(definition.properties) ? definition.properties : {};
  for (const [prop, schema] of Object.entries(declared)) {
    if (prop === 'timestamp') continue;
    if (!isObject(schema) || (schema.type !== 'number' && schema.type !== 'integer')) continue;
    if (!isValidIdentifier(prop) || prop.toLowerCase() === 'host_id' || prop.toLowerCase() === 'serv_id' || prop.toLowerCase() === 'res_id') {
      problems.push(`property ${JSON.stringify(prop.slice(0, 80))} of ${name} is not a valid name`);
      continue;
    }
    if (properties.length >= MAX_PROPERTIES_PER_TYPE) {
      problems.push(`${name} declares more than ${MAX_PROPERTIES_PER_TYPE} numeric properties; the rest are ignored`);
      break;
    }
    if (seen.has(prop.toLowerCase())) {
      problems.push(`property ${prop} of ${name} is declared twice (names are case-insensitive)`);
      continue;
    }
    seen.add(prop.toLowerCase());
    properties.push(prop);
  }
  return { name, owner: flag === true ? 'service' : 'host', properties, declared: new Set(Object.keys(declared)) };
}

/**
 * Reads a Swagger document into a catalog. Never throws on content: what is
 * malformed or hostile is listed in `problems` and the rest is kept; past
 * `limits.maxResources` reading stops and `refused` says so.
 */
export function parseCatalog(document: unknown, limits?: Pick<AgentLimits, 'maxResources'>): AgentCatalog {
  const catalog: AgentCatalog = { types: new Map(), resources: new Map(), host: '', problems: [], undeclared: new Set() };
  if (!isObject(document)) {
    catalog.problems.push('discovery document is not a JSON object');
    return catalog;
  }
  const definitions = isObject(document.definitions) ? document.definitions : {};
  const paths = isObject(document.paths) ? document.paths : {};

  for (const [path, item] of Object.entries(paths)) {
    if (!path.endsWith('/history') || !isObject(item)) continue;
    const segments = path.split('/').filter(Boolean);
    let spec: Omit<ResourceSpec, 'dataType' | 'host'> | undefined;
    if (segments[0] === 'system' && segments.length === 4) {
      spec = { scope: 'system', collector: segments[1], resource: segments[2], name: `${segments[1]}/${segments[2]}` };
    } else if (segments[0] === 'service' && segments.length === 5) {
      spec = {
        scope: 'service',
        service: segments[1],
        collector: segments[2],
        resource: segments[3],
        name: `${segments[2]}/${segments[3]}`,
      };
    }
    // Names are kept whole here: whether they fit their columns is agent-value-checks' decision.
    if (!spec) {
      catalog.problems.push(`path ${JSON.stringify(path.slice(0, 120))} is not a resource path`);
      continue;
    }
    const get = isObject(item.get) ? item.get : {};
    const responses = isObject(get.responses) ? get.responses : {};
    const ok = isObject(responses['200']) ? responses['200'] : {};
    const schema = isObject(ok.schema) ? ok.schema : {};
    const items = isObject(schema.items) ? schema.items : {};
    const typeName = definitionName(items['$ref']);
    const host = typeof item['x-host'] === 'string' ? item['x-host'] : undefined;
    if (!typeName || !host) {
      catalog.problems.push(`path ${JSON.stringify(path.slice(0, 120))} names no data type or host`);
      continue;
    }
    if (spec.scope === 'service' && typeof item['x-service'] === 'string') spec.service = item['x-service'];

    let type = catalog.types.get(typeName);
    if (!type && catalog.types.size >= MAX_TYPES_PER_AGENT) {
      catalog.problems.push(`more than ${MAX_TYPES_PER_AGENT} data types: ${typeName.slice(0, 80)} ignored`);
      continue;
    }
    if (!type) {
      type = readDataType(typeName, definitions[typeName], catalog.problems);
      if (!type) {
        if (!isValidIdentifier(typeName)) continue; // already reported
        catalog.problems.push(`path ${JSON.stringify(path.slice(0, 120))} refers to unknown type ${typeName}`);
        continue;
      }
      catalog.types.set(typeName, type);
    }
    if (limits && catalog.resources.size >= limits.maxResources) {
      catalog.refused = limitReason(`a discovery document with more than ${limits.maxResources} resources`, 'maxResources');
      // Nothing of a refused document is used: keep none of it in the discovery cache.
      catalog.resources.clear();
      catalog.types.clear();
      catalog.host = '';
      delete catalog.hostOf;
      break;
    }
    const resource: ResourceSpec = { ...spec, dataType: typeName };
    const key = resourceKey(resource.scope, resource.collector, resource.resource, resource.service);
    // A path declared twice: the last one counts, for its host too.
    catalog.resources.delete(key);
    catalog.hostOf?.delete(key);
    if (catalog.resources.size === 0) catalog.host = host;
    else if (host !== catalog.host) (catalog.hostOf ??= new Map()).set(key, host);
    catalog.resources.set(key, resource);
  }
  return catalog;
}
