import { describe, expect, it } from '@jest/globals';
import { AgentFleet } from './fleet.js';
import { countRows } from './host-model.js';
import { swaggerResources } from './swagger.js';
import type { AllResponse, Row } from './types.js';

const T0 = 1_795_952_906_640.25;

function fleet(opts: ConstructorParameters<typeof AgentFleet>[0] = {}): AgentFleet {
  return new AgentFleet({ hosts: 50, port: 0, now: () => T0, ...opts });
}

function allRows(body: AllResponse): Row[] {
  const out: Row[] = [];
  for (const c of Object.values(body.system)) for (const rows of Object.values(c)) out.push(...rows);
  for (const s of Object.values(body.services)) {
    for (const c of Object.values(s.collectors)) for (const rows of Object.values(c)) out.push(...rows);
  }
  return out;
}

describe('HostModel', () => {
  it('is deterministic: same seed and time give the same body; another seed differs', () => {
    const a = fleet().model(7).all(undefined, T0);
    const b = fleet().model(7).all(undefined, T0);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const c = fleet({ seed: 2 }).model(7).all(undefined, T0);
    expect(JSON.stringify(c)).not.toBe(JSON.stringify(a));
    expect(JSON.stringify(fleet().model(8).all(undefined, T0))).not.toBe(JSON.stringify(a));
  });

  it('serves about a dozen host resources with the real agent type names', () => {
    const body = fleet().model(0).all(undefined, T0);
    const names = Object.entries(body.system).flatMap(([c, rs]) => Object.keys(rs).map((r) => `${c}/${r}`));
    expect(names.length).toBeGreaterThanOrEqual(12);
    expect(names).toEqual(expect.arrayContaining([
      'cpuload/avg', 'cpuuse/all', 'cpuuse/cpu0', 'cpuuse/cpu1', 'diskusage/%2F', 'diskusage/%2Fvar', 'diskstats/sda',
      'memory/memory', 'memory/swap', 'netdev/eth0', 'netdev/lo', 'thermal/all', 'uptime/uptime',
    ]));
    const row = body.system.diskusage['%2F'][0];
    expect(Object.keys(row).sort()).toEqual(['free', 'ipctfree', 'pctfree', 'size', 'timestamp']);
    expect(Number.isInteger(row.free)).toBe(false); // declared integer, sent with a fraction
    expect(Object.keys(body.system.thermal.all[0])).toEqual(['timestamp']);
  });

  it('keeps bufferMs of history: 300 rows per resource at 5 s, none newer than now, oldest first', () => {
    const m = fleet().model(3);
    const body = m.all(undefined, T0);
    expect(body.timestamp).toBe(T0);
    for (const c of Object.values(body.system)) {
      for (const rows of Object.values(c)) {
        expect(rows).toHaveLength(300);
        for (let i = 1; i < rows.length; i++) expect(rows[i].timestamp - rows[i - 1].timestamp).toBeCloseTo(5000, 6);
        expect(rows[rows.length - 1].timestamp).toBeLessThanOrEqual(T0);
        expect(rows[0].timestamp).toBeGreaterThan(T0 - 25 * 60_000);
      }
    }
    const counts = m.rowCounts(undefined, T0);
    expect(counts).toEqual(countRows(body));
    expect(counts.rows).toBe(allRows(body).length);
  });

  it('gives each resource its own phase with a fractional millisecond', () => {
    const body = fleet().model(1).all(undefined, T0);
    const last = Object.values(body.system).flatMap((c) => Object.values(c).map((rows) => rows[rows.length - 1].timestamp));
    expect(new Set(last.map((t) => t % 5000)).size).toBeGreaterThan(5);
    expect(last.filter((t) => !Number.isInteger(t)).length).toBeGreaterThan(last.length / 2);
  });

  it('honours since inclusively', () => {
    const m = fleet().model(4);
    const full = m.all(undefined, T0);
    const rows = full.system.cpuuse.all;
    const since = rows[250].timestamp;
    const part = m.all(since, T0);
    expect(part.system.cpuuse.all).toEqual(rows.slice(250));
    expect(part.system.cpuuse.all[0].timestamp).toBe(since);
    for (const r of allRows(part)) expect(r.timestamp).toBeGreaterThanOrEqual(since);
    // Since in the future: every resource present with [].
    const empty = m.all(T0 + 1, T0);
    expect(Object.keys(empty.system)).toEqual(Object.keys(full.system));
    expect(countRows(empty)).toEqual({ system: 0, service: 0, logs: 0, rows: 0 });
  });

  it('keeps rows stable across time: a later answer repeats the same rows', () => {
    const m = fleet().model(5);
    const a = m.all(T0 - 60_000, T0);
    const b = m.all(T0 - 60_000, T0 + 30_000);
    const rowsA = a.system.memory.memory;
    expect(b.system.memory.memory.slice(0, rowsA.length)).toEqual(rowsA);
    expect(b.system.memory.memory.length).toBe(rowsA.length + 6);
  });

  it('sends a deterministic null now and then (disk_stats.iowtime)', () => {
    const f = fleet();
    let nulls = 0;
    for (let h = 0; h < 20; h++) {
      const body = f.model(h).all(undefined, T0);
      for (const d of Object.values(body.system.diskstats)) nulls += d.filter((r) => r.iowtime === null).length;
    }
    expect(nulls).toBeGreaterThan(0);
  });

  it('runs two or three services with status, logs and collectors', () => {
    const f = fleet();
    const seen = new Set<number>();
    for (let h = 0; h < 30; h++) {
      const body = f.model(h).all(undefined, T0);
      const ids = Object.keys(body.services);
      seen.add(ids.length);
      expect(ids).toContain('sshd-tcp_0.0.0.0_22');
      for (const [id, s] of Object.entries(body.services)) {
        expect(id).toMatch(/^[a-z-]+-tcp_[0-9.]+_[0-9]+$/);
        expect(s.logs.host).toBe(f.agent(h).hostname);
        expect(s.status.host).toBe(f.agent(h).hostname);
        expect(s.status.sockets[0].status).toBe('ok');
        expect(s.status.process[0]).toMatchObject({ status: 'ok', pid: expect.any(Number), cwd: expect.any(String) });
        expect(Object.keys(s.collectors).sort()).toEqual(['cpu', 'io', 'mem']);
        // One line every 0..80 s, 40 s on average: 25 minutes hold roughly 37.
        expect(s.logs.entries.length).toBeGreaterThan(20);
        expect(s.logs.entries.length).toBeLessThan(60);
        for (const e of s.logs.entries) {
          expect(['critical', 'error', 'warning', 'notice', 'info']).toContain(e.level);
          expect(e.text).toContain(e.date_mark.trim());
          expect(e.source).toMatch(/^\/var\/log\//);
        }
      }
    }
    expect([...seen].sort()).toEqual([2, 3]);
  });

  it('has log entries with padded date marks and unique (source, date_mark, line_no)', () => {
    const f = fleet();
    let padded = 0;
    for (let h = 0; h < 20; h++) {
      const body = f.model(h).all(undefined, T0);
      for (const s of Object.values(body.services)) {
        const keys = s.logs.entries.map((e) => `${e.source}|${e.date_mark}|${e.line_no}`);
        expect(new Set(keys).size).toBe(keys.length);
        padded += s.logs.entries.filter((e) => e.date_mark !== e.date_mark.trim()).length;
      }
    }
    expect(padded).toBeGreaterThan(0);
  });
});

describe('swagger', () => {
  it('lists every resource of /all with x-host, x-service and a typed definition', () => {
    const f = fleet();
    for (const h of [0, 1, 2, 13]) {
      const m = f.model(h);
      const doc = m.swagger(T0);
      const body = m.all(undefined, T0);
      const res = swaggerResources(doc);
      const expected: string[] = [];
      for (const [c, rs] of Object.entries(body.system)) for (const r of Object.keys(rs)) expected.push(`/system/${c}/${r}/history`);
      for (const [id, s] of Object.entries(body.services)) {
        for (const [c, rs] of Object.entries(s.collectors)) for (const r of Object.keys(rs)) expected.push(`/service/${id}/${c}/${r}/history`);
        expect(doc.paths[`/service/${id}/status`]).toBeDefined();
        expect(doc.paths[`/service/${id}/log`]).toBeDefined();
      }
      expect([...res.keys()].sort()).toEqual(expected.sort());
      for (const [path, info] of res) {
        expect(info.host).toBe(m.hostname);
        const def = doc.definitions[info.type];
        expect(def).toBeDefined();
        expect(def.properties?.timestamp?.type).toBe('number');
        if (path.startsWith('/service/')) {
          expect(info.service).toBe(path.split('/')[2]);
          expect(def['x-isService']).toBe(true);
        } else {
          expect(info.service).toBeUndefined();
          expect(def['x-isService']).toBeUndefined();
        }
        expect(doc.paths[path].get.parameters?.[0]?.name).toBe('len');
        // Every row property is declared with a numeric type.
        const rows = path.startsWith('/system/')
          ? body.system[path.split('/')[2]][path.split('/')[3]]
          : body.services[path.split('/')[2]].collectors[path.split('/')[3]][path.split('/')[4]];
        for (const key of Object.keys(rows[0])) expect(['number', 'integer']).toContain(def.properties?.[key]?.type);
      }
      for (const t of ['services', 'serviceLog', 'serviceProcess', 'serviceSocket']) expect(doc.definitions[t]['x-isService']).toBe(false);
      expect(doc.paths['/service/all/log']).toBeDefined();
      expect(doc.definitions.thermal.properties).toEqual({ timestamp: expect.any(Object) });
    }
  });
});
