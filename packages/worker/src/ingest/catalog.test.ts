import { describe, expect, it } from '@jest/globals';
import { parseCatalog, resourceHost } from './catalog.js';
import { parseSnapshot } from './snapshot.js';

const history = (type: string, host: string, service?: string) => ({
  'x-host': host,
  ...(service ? { 'x-service': service } : {}),
  get: { responses: { '200': { schema: { type: 'array', items: { $ref: `#/definitions/${type}` } } } } },
});

const swagger = {
  swagger: '2.0',
  paths: {
    '/system/cpuuse/all/history': history('cpu_usage', 'h1'),
    '/system/diskusage/%2F/history': history('disk_usage', 'h1'),
    '/system/thermal/zone0/history': history('thermal', 'h1'),
    '/service/db-tcp_3306/mysql/status/history': history('mysql_stat', 'h1', 'db-tcp_3306'),
    '/system/bad/one/history': history('x;DROP TABLE t', 'h1'),
    '/service/db-tcp_3306/status': { get: {} },
  },
  definitions: {
    cpu_usage: { properties: { timestamp: { type: 'number' }, user: { type: 'number' }, system: { type: 'number' }, name: { type: 'string' } } },
    disk_usage: { properties: { timestamp: { type: 'number' }, free: { type: 'integer' }, 'pct free': { type: 'number' } } },
    thermal: { properties: { timestamp: { type: 'number' } } },
    mysql_stat: { 'x-isService': true, properties: { timestamp: { type: 'number' }, queries: { type: 'number' } } },
    status: { 'x-isService': false, properties: { host: { type: 'string' } } },
    'x;DROP TABLE t': { properties: { timestamp: { type: 'number' }, v: { type: 'number' } } },
  },
};

describe('parseCatalog', () => {
  const catalog = parseCatalog(swagger);

  it('reads resources, types and numeric properties', () => {
    expect(catalog.types.get('cpu_usage')).toMatchObject({ name: 'cpu_usage', owner: 'host', properties: ['user', 'system'] });
    expect([...catalog.types.get('cpu_usage')!.declared]).toEqual(['timestamp', 'user', 'system', 'name']);
    expect(catalog.types.get('thermal')?.properties).toEqual([]);
    expect(catalog.types.get('mysql_stat')?.owner).toBe('service');
    expect(catalog.types.has('status')).toBe(false);
    expect(catalog.resources.get('system/diskusage/%2F')).toMatchObject({ name: 'diskusage/%2F', dataType: 'disk_usage' });
    expect(resourceHost(catalog, 'system/diskusage/%2F')).toBe('h1');
    expect(catalog.resources.get('service/db-tcp_3306/mysql/status')).toMatchObject({ service: 'db-tcp_3306', name: 'mysql/status' });
  });

  it('refuses hostile names but keeps the rest', () => {
    expect(catalog.types.has('x;DROP TABLE t')).toBe(false);
    expect(catalog.types.get('disk_usage')?.properties).toEqual(['free']);
    expect(catalog.problems.join('\n')).toMatch(/x;DROP TABLE t/);
    expect(catalog.problems.join('\n')).toMatch(/pct free/);
  });

  it('keeps the host of each path when an agent speaks for several hosts', () => {
    const multi = parseCatalog({
      paths: {
        '/system/cpuuse/all/history': history('cpu_usage', 'h1'),
        '/system/diskusage/%2F/history': history('disk_usage', 'vm7'),
        '/system/thermal/zone0/history': history('thermal', 'h1'),
      },
      definitions: swagger.definitions,
    });
    expect(['system/cpuuse/all', 'system/diskusage/%2F', 'system/thermal/zone0'].map((k) => resourceHost(multi, k))).toEqual(['h1', 'vm7', 'h1']);
    const snapshot = parseSnapshot({ timestamp: 2, system: { diskusage: { '%2F': [{ timestamp: 1, free: 5 }] }, cpuuse: { all: [{ timestamp: 1, user: 1 }] } } }, multi);
    expect(snapshot.metrics.map((m) => [m.resource.name, m.host])).toEqual([
      ['diskusage/%2F', 'vm7'],
      ['cpuuse/all', 'h1'],
    ]);
  });

  it('survives documents that are not swagger at all', () => {
    expect(parseCatalog('<html>').problems).toEqual(['discovery document is not a JSON object']);
    expect(parseCatalog({ paths: 3 }).resources.size).toBe(0);
  });
});

describe('parseSnapshot', () => {
  const catalog = parseCatalog(swagger);

  it('keeps full precision, NULLs, and drops only malformed values', () => {
    const snapshot = parseSnapshot(
      {
        timestamp: 1795952906640.3435,
        system: {
          cpuuse: {
            all: [
              { timestamp: 1795952900000.1234, user: 1.25, system: null, extra: 3 },
              { timestamp: 1795952905000.5678, user: 'abc', system: '2.5' },
              { user: 1 },
            ],
          },
          unknowncollector: { x: [{ timestamp: 1 }] },
          thermal: { zone0: [{ timestamp: 1795952900001 }] },
        },
      },
      catalog,
    );
    expect(snapshot.timestamp).toBe(1795952906640.3435);
    const cpu = snapshot.metrics.find((m) => m.type.name === 'cpu_usage')!;
    // [owner id, res_id (0 until known), timestamp, user, system]
    expect(cpu.rows).toEqual([
      [0, 0, 1795952900000.1234, 1.25, null],
      [0, 0, 1795952905000.5678, null, 2.5],
    ]);
    expect(snapshot.metrics.find((m) => m.type.name === 'thermal')!.rows).toHaveLength(1);
    expect(snapshot.parseErrors).toBe(2);
    // An undeclared field and an undeclared resource: both are reasons to read discovery again.
    expect(snapshot.unknown).toEqual(['cpu_usage.extra', 'system/unknowncollector/x']);
  });

  it('reads services, processes, sockets and logs', () => {
    const snapshot = parseSnapshot(
      {
        timestamp: 2,
        services: {
          'db-tcp_3306': {
            status: {
              host: 'h1',
              properties: { type: 'database' },
              sockets: [{ name: 'tcp:3306', status: 'ok' }],
              process: [{ name: 'mysqld', full_path: '/usr/sbin/mysqld', cwd: '/', username: 'mysql', pid: 12, status: 'ok' }],
            },
            logs: { host: 'h1', entries: [{ timestamp: 1.5, date_mark: ' Nov 29 ', line_no: 3, text: 'x', level: 'warning', source: '/var/log/x' }] },
            collectors: { mysql: { status: [{ timestamp: 1, queries: 10 }] } },
          },
        },
      },
      catalog,
    );
    expect(snapshot.services[0]).toMatchObject({ id: 'db-tcp_3306', host: 'h1', type: 'database' });
    expect(snapshot.services[0].logs[0]).toMatchObject({ dateMark: ' Nov 29 ', lineNo: 3, level: 'warning' });
    expect(snapshot.metrics[0].resource.service).toBe('db-tcp_3306');
  });

  it('rejects an answer without a timestamp', () => {
    expect(() => parseSnapshot({ system: {} }, catalog)).toThrow(/timestamp/);
    expect(() => parseSnapshot([1, 2], catalog)).toThrow(/not a JSON object/);
  });
});
