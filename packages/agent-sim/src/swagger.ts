/** The agent's Swagger 2.0 discovery document, built from a HostModel. */
import type { DataType } from './catalog.js';
import { HOSTILE, type HostModel } from './host-model.js';
import { NO_DATA_FAULTS, type DataFaults } from './faults.js';
import type { SwaggerDefinition, SwaggerDocument, SwaggerPathItem } from './types.js';

const LEN_PARAMETER = {
  name: 'len',
  in: 'query',
  type: 'integer',
  required: false,
  description: 'Length of the history to fetch',
};

function sortKeys<T>(obj: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(obj).sort()) out[k] = obj[k];
  return out;
}

function definitionOf(type: DataType, extra: readonly string[]): SwaggerDefinition {
  const properties: NonNullable<SwaggerDefinition['properties']> = {
    timestamp: { description: 'timestamp', format: 'double', type: 'number' },
  };
  for (const p of type.properties) properties[p.name] = { description: p.description, type: p.type };
  for (const name of extra) properties[name] ??= { description: name, type: 'number' };
  const def: SwaggerDefinition = { properties: sortKeys(properties), required: ['timestamp'], type: 'object' };
  if (type.isService) def['x-isService'] = true;
  return def;
}

/** Definitions of the agent's own payloads (status and logs): `x-isService: false`. */
function payloadDefinitions(): Record<string, SwaggerDefinition> {
  return {
    serviceLog: {
      properties: {
        date_mark: { type: 'string' },
        level: { type: 'string' },
        line_no: { type: 'number' },
        source: { type: 'string' },
        text: { type: 'string' },
        timestamp: { format: 'double', type: 'number' },
      },
      required: ['level', 'date_mark', 'line_no', 'timestamp'],
      'x-isService': false,
    },
    serviceProcess: {
      properties: {
        cwd: { type: 'string' },
        full_path: { type: 'string' },
        name: { type: 'string' },
        pid: { type: 'number' },
        status: { type: 'string' },
        username: { type: 'string' },
      },
      required: ['name', 'status'],
      type: 'object',
      'x-isService': false,
    },
    serviceSocket: {
      properties: { name: { type: 'string' }, status: { type: 'string' } },
      required: ['name', 'status'],
      'x-isService': false,
    },
    services: {
      properties: {
        host: { type: 'string' },
        process: { type: 'array', items: { $ref: '#/definitions/serviceProcess' } },
        sockets: { type: 'array', items: { $ref: '#/definitions/serviceSocket' } },
      },
      required: ['sockets', 'process', 'host'],
      type: 'object',
      'x-isService': false,
    },
  };
}

/** The exact swagger document the host serves at `nowMs` under the given data faults. */
export function buildSwagger(model: HostModel, nowMs: number, faults: DataFaults = NO_DATA_FAULTS): SwaggerDocument {
  const definitions: Record<string, SwaggerDefinition> = payloadDefinitions();
  const paths: Record<string, SwaggerPathItem> = {};
  const newProps = model.visibleNewProperties(nowMs, faults);
  const resources = [...model.hostResources(faults), ...model.services.flatMap((s) => s.resources)];
  for (const r of resources) {
    if (!(r.type.name in definitions)) {
      const extra = newProps.filter((p) => p.type === r.type.name).map((p) => p.property);
      if (faults.hostileNames && r.type.name === HOSTILE.extraType) extra.push(HOSTILE.extraProperty);
      definitions[r.type.name] = definitionOf(r.type, extra);
    }
    const item: SwaggerPathItem = {
      get: {
        parameters: [{ ...LEN_PARAMETER }],
        responses: {
          '200': { description: r.description, schema: { items: { $ref: `#/definitions/${r.type.name}` }, type: 'array' } },
        },
        summary: r.description,
      },
      'x-host': model.hostname,
    };
    if (r.serviceId !== undefined) item['x-service'] = r.serviceId;
    paths[r.path] = item;
  }
  paths['/service/all/status'] = {
    get: {
      responses: {
        '200': { description: 'All services status', schema: { additionalProperties: { $ref: '#/definitions/services' }, type: 'object' } },
      },
      summary: 'All services status',
    },
  };
  paths['/service/all/log'] = {
    get: {
      responses: {
        '200': { description: 'All services log events', schema: { additionalProperties: { $ref: '#/definitions/serviceLog' }, type: 'object' } },
      },
      summary: 'All services status',
    },
  };
  for (const s of model.services) {
    const name = s.template.name;
    paths[`/service/${s.id}/status`] = {
      get: { responses: { '200': { description: `${name} status`, schema: { $ref: '#/definitions/services' } } }, summary: `${name} service status` },
    };
    paths[`/service/${s.id}/log`] = {
      get: { responses: { '200': { description: `${name} Log history`, schema: { $ref: '#/definitions/serviceLog' } } }, summary: `${name} service log history` },
    };
  }
  return {
    basePath: '/',
    consumes: ['application/json'],
    definitions: sortKeys(definitions),
    externalDocs: { description: 'Documentation', url: 'https://sebt3.github.io/watched/doc/' },
    host: 'localhost',
    info: {
      contact: { email: 'sebastien.huss@gmail.com', name: 'Sebastien Huss', url: 'https://sebt3.github.io/watched/' },
      description: 'Watch over wasted being washed up (simulated by @watched/agent-sim)',
      license: { name: 'AGPL', url: 'https://www.gnu.org/licenses/agpl-3.0.html' },
      title: 'watched.agent',
      version: '1.0.0',
    },
    paths: sortKeys(paths),
    produces: ['application/json'],
    schemes: ['http'],
    swagger: '2.0',
  };
}

/** History paths of a swagger document: path -> { host, service?, type }. */
export function swaggerResources(doc: SwaggerDocument): Map<string, { host?: string; service?: string; type: string }> {
  const out = new Map<string, { host?: string; service?: string; type: string }>();
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!path.endsWith('/history')) continue;
    const schema = item.get.responses['200']?.schema as { items?: { $ref?: string } } | undefined;
    const ref = schema?.items?.$ref ?? '';
    out.set(path, { host: item['x-host'], service: item['x-service'], type: ref.slice(ref.lastIndexOf('/') + 1) });
  }
  return out;
}
