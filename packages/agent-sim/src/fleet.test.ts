import { afterEach, describe, expect, it } from '@jest/globals';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { IllegalStateError } from '@watched/core';
import { listeningAddresses } from '@watched/core/testing';
import { AgentFleet, startFleet } from './fleet.js';
import { FleetOptionError } from './fleet-options.js';
import { loopbackAddress, loopbackIndex } from './addressing.js';
import { get, getJson } from './test-client.js';
import type { AllResponse, SwaggerDocument } from './types.js';

const T0 = 1_795_952_906_640.25;
const fleets: AgentFleet[] = [];
afterEach(async () => {
  await Promise.all(fleets.splice(0).map((f) => f.close()));
});

async function start(opts: ConstructorParameters<typeof AgentFleet>[0] = {}): Promise<{ fleet: AgentFleet; clock: { t: number } }> {
  const clock = { t: T0 };
  const fleet = await startFleet({ hosts: 5, port: 0, now: () => clock.t, ...opts });
  fleets.push(fleet);
  return { fleet, clock };
}

describe('addressing', () => {
  it('maps host indexes to 127.20.x.y and back', () => {
    expect(loopbackAddress(0)).toBe('127.20.0.1');
    expect(loopbackAddress(254)).toBe('127.20.0.255');
    expect(loopbackAddress(255)).toBe('127.20.1.0');
    expect(loopbackAddress(65535)).toBe('127.21.0.0');
    for (const i of [0, 1, 254, 255, 9_999, 65_534, 65_535, 100_000]) expect(loopbackIndex(loopbackAddress(i), 200_000)).toBe(i);
    expect(loopbackIndex('::ffff:127.20.0.3', 10)).toBe(2);
    expect(loopbackIndex('127.0.0.1', 10)).toBeUndefined();
    expect(loopbackIndex('127.20.0.0', 10)).toBeUndefined();
    expect(loopbackIndex('127.20.0.11', 10)).toBeUndefined();
    expect(loopbackIndex('10.20.0.1', 10)).toBeUndefined();
  });

  it('rejects invalid options naming the option', () => {
    expect(() => new AgentFleet({ hosts: 0 })).toThrow(FleetOptionError);
    expect(() => new AgentFleet({ hosts: 0 })).toThrow(/hosts/);
    expect(() => new AgentFleet({ port: 70_000 })).toThrow(/port/);
    expect(() => new AgentFleet({ mode: 'ports', basePort: 9000, controlPort: 9001, hosts: 5 })).toThrow(/controlPort/);
    expect(() => new AgentFleet({ hostnamePrefix: 'a.b' })).toThrow(/hostnamePrefix/);
  });
});

describe('AgentFleet over HTTP (loopback mode)', () => {
  it('serves exactly what the model computes, per host', async () => {
    const { fleet } = await start();
    expect(fleet.port).toBeGreaterThan(0);
    const agents = fleet.agents();
    expect(agents.map((a) => a.host)).toEqual(['127.20.0.1', '127.20.0.2', '127.20.0.3', '127.20.0.4', '127.20.0.5']);
    expect(agents.map((a) => a.hostname)).toEqual(['sim-00001', 'sim-00002', 'sim-00003', 'sim-00004', 'sim-00005']);
    for (const a of agents.slice(0, 3)) {
      const res = await get(`${fleet.url(a.index)}/all`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json');
      expect(res.body).toBe(JSON.stringify(fleet.model(a.index).all(undefined, T0)));
      const body = JSON.parse(res.body) as AllResponse;
      expect(body.timestamp).toBe(T0);
      expect(body.services['sshd-tcp_0.0.0.0_22'].logs.host).toBe(a.hostname);
      const doc = await getJson<SwaggerDocument>(`${fleet.url(a.index)}/api/swagger.json`);
      expect(doc).toEqual(fleet.model(a.index).swagger(T0));
      expect(doc.paths['/system/cpuuse/all/history']['x-host']).toBe(a.hostname);
    }
  });

  it('honours since (inclusive) and rejects a malformed or empty since with 400', async () => {
    const { fleet, clock } = await start();
    const full = await getJson<AllResponse>(`${fleet.url(0)}/all`);
    const rows = full.system.memory.memory;
    const since = rows[rows.length - 3].timestamp;
    const part = await getJson<AllResponse>(`${fleet.url(0)}/all?since=${since}`);
    expect(part.system.memory.memory).toEqual(rows.slice(-3));
    expect(part).toEqual(fleet.model(0).all(since, clock.t));
    // The next poll with since = last timestamp repeats nothing older than it.
    clock.t += 12_000;
    const next = await getJson<AllResponse>(`${fleet.url(0)}/all?since=${part.timestamp}`);
    for (const c of Object.values(next.system)) {
      for (const r of Object.values(c)) for (const row of r) expect(row.timestamp).toBeGreaterThanOrEqual(part.timestamp);
    }
    expect(next.timestamp).toBe(T0 + 12_000);
    for (const bad of ['', 'abc', '1e5', '-1', '1.2.3', '12.', '.5', '1%200']) {
      const res = await get(`${fleet.url(0)}/all?since=${bad}`);
      expect([bad, res.status]).toEqual([bad, 400]);
    }
    expect((await get(`${fleet.url(0)}/all?since=1&since=2`)).status).toBe(400);
    expect((await get(`${fleet.url(0)}/all?len=5`)).status).toBe(200);
  });

  it('serves per-resource history, status and log paths', async () => {
    const { fleet, clock } = await start();
    const m = fleet.model(2);
    const since = clock.t - 30_000;
    for (const path of ['/system/diskusage/%2Fvar/history', '/system/thermal/all/history', '/system/cpuuse/cpu1/history']) {
      const rows = await getJson(`${fleet.url(2)}${path}?since=${since}`);
      expect(rows).toEqual(m.history(path, since, clock.t));
      expect((rows as unknown[]).length).toBe(6);
    }
    const svc = m.host.services[0];
    const sPath = `/service/${svc.id}/mem/mem/history`;
    expect(await getJson(`${fleet.url(2)}${sPath}`)).toEqual(m.history(sPath, undefined, clock.t));
    expect(await getJson(`${fleet.url(2)}/service/${svc.id}/status`)).toEqual(m.status(svc.id));
    expect(await getJson(`${fleet.url(2)}/service/${svc.id}/log?since=${since}`)).toEqual(m.logs(svc.id, since, clock.t));
    const allStatus = await getJson<Record<string, unknown>>(`${fleet.url(2)}/service/all/status`);
    expect(Object.keys(allStatus)).toEqual(m.host.services.map((s) => s.id));
    const allLog = await getJson<Record<string, unknown>>(`${fleet.url(2)}/service/all/log`);
    expect(Object.keys(allLog)).toEqual(m.host.services.map((s) => s.id));
    expect(await getJson(`${fleet.url(2)}/service/nope/status`)).toEqual({ error: "No service matching 'nope' found" });
    expect((await get(`${fleet.url(2)}/system/cpuuse/cpu99/history`)).status).toBe(404);
    expect((await get(`${fleet.url(2)}/nothing`)).status).toBe(404);
    expect((await get(`${fleet.url(2)}/all`, { method: 'POST' })).status).toBe(405);
    expect((await get(`${fleet.url(2)}/`)).headers['content-type']).toMatch(/text\/html/);
  });

  it('answers 404 to agent paths on an address that is no host, and the control API only there', async () => {
    const { fleet } = await start({ controlApi: true });
    expect((await get(`http://127.0.0.1:${fleet.port}/all`)).status).toBe(404);
    await expect(get(`http://127.20.0.6:${fleet.port}/all`)).rejects.toThrow(/ECONNREFUSED/); // host 5 of 5 does not exist: nothing listens
    expect((await get(`${fleet.url(0)}/_sim/agents`)).status).toBe(404);
    const list = await getJson<{ agents: unknown[]; mode: string }>(`${fleet.controlUrl}/_sim/agents`);
    expect(list.mode).toBe('loopback');
    expect(list.agents).toEqual(fleet.agents());
  });

  it('drives faults through the control API', async () => {
    const { fleet } = await start({ controlApi: true });
    const url = `${fleet.controlUrl}/_sim/faults/1`;
    const set = await get(url, { method: 'POST', body: JSON.stringify({ kind: 'slow', delayMs: 10 }) });
    expect(set.status).toBe(200);
    expect(JSON.parse(set.body)).toEqual({ index: 1, faults: [{ kind: 'slow', on: 'both', delayMs: 10 }] });
    expect(fleet.faults(1)).toEqual([{ kind: 'slow', on: 'both', delayMs: 10 }]);
    await get(`${fleet.controlUrl}/_sim/faults/3`, { method: 'POST', body: JSON.stringify([{ kind: 'http500', on: 'swagger' }, { kind: 'nonNumeric' }]) });
    expect(Object.keys(await getJson(`${fleet.controlUrl}/_sim/faults`) as object)).toEqual(['1', '3']);
    expect((await get(`${fleet.controlUrl}/_sim/faults/1`, { method: 'POST', body: '{"kind":"nope"}' })).status).toBe(400);
    expect((await get(`${fleet.controlUrl}/_sim/faults/1`, { method: 'POST', body: '{"kind":"slow","delayMs":-1}' })).body).toMatch(/delayMs/);
    expect((await get(`${fleet.controlUrl}/_sim/faults/1`, { method: 'POST', body: '{not json' })).status).toBe(400);
    expect((await get(`${fleet.controlUrl}/_sim/faults/99`, { method: 'POST', body: '{"kind":"down"}' })).status).toBe(404);
    expect(fleet.faults(1)).toEqual([{ kind: 'slow', on: 'both', delayMs: 10 }]);
    expect((await get(url, { method: 'DELETE' })).status).toBe(200);
    expect(fleet.faults(1)).toEqual([]);
    expect((await get(`${fleet.controlUrl}/_sim/faults`, { method: 'DELETE' })).status).toBe(200);
    expect(fleet.faultedHosts().size).toBe(0);
  });

  it('keeps connections alive and closes them on close()', async () => {
    const { fleet } = await start();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const reused: boolean[] = [];
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = request(`${fleet.url(0)}/service/all/status`, { agent }, (res) => {
          reused.push(req.reusedSocket);
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end();
      });
    }
    expect(reused).toEqual([false, true, true]);
    await fleet.close();
    await fleet.close(); // idempotent
    expect(fleet.state).toBe('CLOSED');
    await expect(get(`${fleet.url(0)}/all`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    agent.destroy();
    await expect(fleet.start()).rejects.toThrow(IllegalStateError);
  });
});

describe('robustness', () => {
  it('survives garbage requests and odd paths', async () => {
    const { fleet } = await start();
    const raw = await new Promise<string>((resolve) => {
      const socket = connect(fleet.port, '127.20.0.1', () => socket.end('GARBAGE \x00\x01 nonsense\r\n\r\n'));
      let out = '';
      socket.on('data', (d) => (out += d.toString()));
      socket.on('close', () => resolve(out));
      socket.on('error', () => resolve(out));
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    for (const path of ['/service/%E0%A4%A/status', '/system/%/x/history', '/service//status', '/all?since=%', '/..%2F..%2Fetc/passwd']) {
      const res = await get(`${fleet.url(0)}${path}`);
      expect(res.status).toBeLessThan(500);
    }
    // An aborted request mid-way does not disturb the next one.
    await new Promise<void>((resolve) => {
      const socket = connect(fleet.port, '127.20.0.1', () => {
        socket.write('GET /all HTTP/1.1\r\nHost: x\r\n');
        socket.destroy();
        resolve();
      });
    });
    expect((await get(`${fleet.url(0)}/all?since=${T0}`)).status).toBe(200);
  });
});

/** An address of this machine that is not loopback (connections to it come "from the network"), if it has one. */
function externalAddress(): string | undefined {
  return Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
}

describe('AgentFleet exposure', () => {
  it('binds loopback by default: a listener per host address, and no control API', async () => {
    const { fleet } = await start({ hosts: 3 });
    expect(listeningAddresses(fleet.port)).toEqual(['127.20.0.1', '127.20.0.2', '127.20.0.3']);
    expect((await get(`${fleet.url(1)}/api/swagger.json`)).status).toBe(200);
    await expect(get(`http://127.0.0.1:${fleet.port}/_sim/faults`)).rejects.toThrow(/ECONNREFUSED/);
    expect((await get(`${fleet.url(0)}/_sim/faults`)).status).toBe(404);
    const ports = await start({ mode: 'ports', basePort: 0, hosts: 2 });
    expect(ports.fleet.agents().flatMap((a) => listeningAddresses(a.port))).toEqual(['127.0.0.1', '127.0.0.1']);
    expect(ports.fleet.port).toBe(0); // no control listener
  });

  it('with the control API asked for, serves it on 127.0.0.1 only', async () => {
    const { fleet } = await start({ hosts: 2, controlApi: true });
    expect(listeningAddresses(fleet.port)).toEqual(['127.0.0.1', '127.20.0.1', '127.20.0.2']);
    expect((await get(`${fleet.controlUrl}/_sim/faults`)).status).toBe(200);
  });

  it('a wildcard listener (big loopback fleets, or asked for) resets connections from off this host', async () => {
    const { fleet } = await start({ hosts: 2, bindAddress: '0.0.0.0' });
    expect(listeningAddresses(fleet.port)).toEqual(['0.0.0.0']);
    expect((await get(`${fleet.url(0)}/api/swagger.json`)).status).toBe(200);
    const outside = externalAddress();
    if (outside === undefined) return; // a machine with loopback only: nothing can come from outside
    await expect(get(`http://${outside}:${fleet.port}/_sim/faults`)).rejects.toThrow(/ECONNRESET|socket hang up/);
    await expect(get(`http://${outside}:${fleet.port}/all`)).rejects.toThrow(/ECONNRESET|socket hang up/);
  });
});

describe('AgentFleet over HTTP (ports mode)', () => {
  it('gives each host its own port and a separate control port', async () => {
    const { fleet } = await start({ mode: 'ports', basePort: 0, bindAddress: '127.0.0.1', hosts: 4, controlApi: true });
    const agents = fleet.agents();
    expect(new Set(agents.map((a) => a.port)).size).toBe(4);
    expect(agents.every((a) => a.host === '127.0.0.1')).toBe(true);
    for (const a of agents) {
      const doc = await getJson<SwaggerDocument>(`http://${a.host}:${a.port}/api/swagger.json`);
      expect(doc.paths['/system/uptime/uptime/history']['x-host']).toBe(a.hostname);
      expect((await get(`http://${a.host}:${a.port}/_sim/agents`)).status).toBe(404);
    }
    expect(fleet.port).not.toBe(agents[0].port);
    const list = await getJson<{ agents: unknown[] }>(`${fleet.controlUrl}/_sim/agents`);
    expect(list.agents).toEqual(agents);
    expect((await get(`${fleet.controlUrl}/all`)).status).toBe(404);
  });
});
