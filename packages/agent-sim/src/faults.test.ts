import { afterEach, describe, expect, it } from '@jest/globals';
import { AgentFleet, startFleet } from './fleet.js';
import { compileFault, FaultValidationError } from './faults.js';
import { countRows, HOSTILE } from './host-model.js';
import { swaggerResources } from './swagger.js';
import { get, getJson } from './test-client.js';
import type { AllResponse, SwaggerDocument } from './types.js';

const T0 = 1_795_952_906_640.25;
const fleets: AgentFleet[] = [];
afterEach(async () => {
  await Promise.all(fleets.splice(0).map((f) => f.close()));
});

async function start(): Promise<{ fleet: AgentFleet; clock: { t: number } }> {
  const clock = { t: T0 };
  const fleet = await startFleet({ hosts: 4, port: 0, now: () => clock.t });
  fleets.push(fleet);
  return { fleet, clock };
}

const errorCode = (p: Promise<unknown>): Promise<string> =>
  p.then(() => 'resolved', (err: NodeJS.ErrnoException) => err.code ?? err.message);

describe('fault validation', () => {
  const defaults = { nowMs: T0, firstServiceId: 'sshd-tcp_0.0.0.0_22' };
  it('fills defaults and names the bad field', () => {
    expect(compileFault({ kind: 'restart' }, defaults)).toEqual({ kind: 'restart', on: 'both', atMs: T0, clockSkewMs: 0 });
    expect(compileFault({ kind: 'huge', on: 'all' }, defaults)).toEqual({ kind: 'huge', on: 'all', sizeBytes: 64 * 1024 * 1024 });
    expect(compileFault({ kind: 'serviceFailed' }, defaults)).toMatchObject({ serviceId: 'sshd-tcp_0.0.0.0_22' });
    expect(() => compileFault({ kind: 'slow', delayMs: 'x' }, defaults)).toThrow(/delayMs/);
    expect(() => compileFault({ kind: 'down', on: 'everything' }, defaults)).toThrow(/fault\.on/);
    expect(() => compileFault({ kind: 'down', colour: 1 }, defaults)).toThrow(FaultValidationError);
    expect(() => compileFault('down', defaults)).toThrow(FaultValidationError);
  });
});

describe('fault modes over HTTP', () => {
  it('down resets the connection (not ECONNREFUSED), for the targeted endpoints only', async () => {
    const { fleet } = await start();
    fleet.setFault(0, { kind: 'down' });
    expect(await errorCode(get(`${fleet.url(0)}/all`))).toBe('ECONNRESET');
    expect(await errorCode(get(`${fleet.url(0)}/api/swagger.json`))).toBe('ECONNRESET');
    expect((await get(`${fleet.url(1)}/all`)).status).toBe(200);
    fleet.setFault(0, { kind: 'down', on: 'swagger' });
    expect(await errorCode(get(`${fleet.url(0)}/api/swagger.json`))).toBe('ECONNRESET');
    expect((await get(`${fleet.url(0)}/all`)).status).toBe(200);
    fleet.setFault(0, null);
    expect((await get(`${fleet.url(0)}/api/swagger.json`)).status).toBe(200);
  });

  it('slow delays the answer', async () => {
    const { fleet } = await start();
    fleet.setFault(1, { kind: 'slow', delayMs: 300 });
    const t = performance.now();
    const res = await get(`${fleet.url(1)}/all?since=${T0 - 10_000}`);
    expect(performance.now() - t).toBeGreaterThanOrEqual(250);
    expect(JSON.parse(res.body)).toEqual(fleet.model(1).all(T0 - 10_000, T0));
  });

  it('hang never answers (until the fleet closes)', async () => {
    const { fleet } = await start();
    fleet.setFault(1, { kind: 'hang', on: 'all' });
    expect(await errorCode(get(`${fleet.url(1)}/all`, { timeoutMs: 300 }))).toBe('TIMEOUT');
    expect((await get(`${fleet.url(1)}/api/swagger.json`)).status).toBe(200);
    const pending = errorCode(get(`${fleet.url(1)}/all`));
    await new Promise((r) => setTimeout(r, 50));
    await fleet.close();
    expect(await pending).not.toBe('resolved');
  });

  it('http500 answers an HTML error page', async () => {
    const { fleet } = await start();
    fleet.setFault(2, { kind: 'http500' });
    const res = await get(`${fleet.url(2)}/all`);
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toMatch(/^<html>/);
  });

  it('malformedJson answers 200 with a body that does not parse', async () => {
    const { fleet } = await start();
    fleet.setFault(2, { kind: 'malformedJson' });
    for (const path of ['/all', '/api/swagger.json', '/system/cpuload/avg/history']) {
      const res = await get(`${fleet.url(2)}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json');
      expect(() => JSON.parse(res.body)).toThrow();
    }
  });

  it('truncatedBody declares more than it sends, then closes', async () => {
    const { fleet } = await start();
    fleet.setFault(2, { kind: 'truncatedBody', on: 'all' });
    expect(await errorCode(get(`${fleet.url(2)}/all`))).toMatch(/ABORTED|ECONNRESET|aborted/);
    expect((await get(`${fleet.url(2)}/api/swagger.json`)).status).toBe(200);
  });

  it('nonNumeric puts strings where numbers belong', async () => {
    const { fleet } = await start();
    fleet.setFault(3, { kind: 'nonNumeric' });
    const body = await getJson<AllResponse>(`${fleet.url(3)}/all`);
    expect(body).toEqual(fleet.model(3).all(undefined, T0));
    const values = Object.values(body.system).flatMap((c) => Object.values(c).flat()).flatMap((r) => Object.values(r));
    expect(values.filter((v) => v === 'abc').length).toBeGreaterThan(100);
    expect(values.filter((v) => typeof v === 'number').length).toBeGreaterThan(1000);
  });

  it('hostileNames names types, resources and properties that are not identifiers, alongside valid data', async () => {
    const { fleet } = await start();
    fleet.setFault(0, { kind: 'hostileNames' });
    const doc = await getJson<SwaggerDocument>(`${fleet.url(0)}/api/swagger.json`);
    const body = await getJson<AllResponse>(`${fleet.url(0)}/all`);
    expect(doc).toEqual(fleet.model(0).swagger(T0));
    expect(body).toEqual(fleet.model(0).all(undefined, T0));
    expect(doc.definitions[HOSTILE.type].properties).toHaveProperty(['a`b']);
    expect(doc.definitions[HOSTILE.longType]).toBeDefined();
    expect(doc.definitions.loadaverage.properties).toHaveProperty(['a`b']);
    expect(body.system.evil[HOSTILE.resource][0]).toHaveProperty(['x;DROP TABLE t']);
    expect(body.system.evil[HOSTILE.longResource].length).toBe(300);
    expect(body.system.cpuload.avg[0]).toHaveProperty(['a`b']);
    expect(body.system.memory.memory.length).toBe(300);
    const res = swaggerResources(doc);
    for (const r of Object.keys(body.system.evil)) expect(res.get(`/system/evil/${r}/history`)).toBeDefined();
    const rows = await getJson<unknown[]>(`${fleet.url(0)}/system/evil/${encodeURIComponent(HOSTILE.resource)}/history?since=${T0 - 10_000}`);
    expect(rows.length).toBe(2);
  });

  it('huge streams a body of the configured size', async () => {
    const { fleet } = await start();
    fleet.setFault(1, { kind: 'huge', sizeBytes: 3 * 1024 * 1024 + 7 });
    const res = await get(`${fleet.url(1)}/all`);
    expect(res.bytes).toBe(3 * 1024 * 1024 + 7);
    const body = JSON.parse(res.body) as AllResponse;
    expect(body.timestamp).toBe(T0);
    expect(body.system.pad.pad.length).toBeGreaterThan(10_000);
    const doc = await get(`${fleet.url(1)}/api/swagger.json`);
    expect(doc.bytes).toBe(3 * 1024 * 1024 + 7);
    expect(JSON.parse(doc.body)).toMatchObject({ swagger: '2.0', paths: {} });
    // Default 64 MiB: a client that gives up after 1 MiB leaves the server healthy.
    fleet.setFault(1, { kind: 'huge' });
    const partial = await get(`${fleet.url(1)}/all`, { maxBytes: 1024 * 1024 });
    expect(partial.bytes).toBeGreaterThanOrEqual(1024 * 1024);
    fleet.setFault(1, null);
    expect((await get(`${fleet.url(1)}/all?since=${T0}`)).status).toBe(200);
  });

  it('newProperty appears in swagger and rows from a given time', async () => {
    const { fleet, clock } = await start();
    fleet.setFault(2, { kind: 'newProperty', type: 'disk_usage', property: 'reserved', fromMs: T0 + 20_000 });
    let doc = await getJson<SwaggerDocument>(`${fleet.url(2)}/api/swagger.json`);
    expect(doc.definitions.disk_usage.properties).not.toHaveProperty('reserved');
    clock.t = T0 + 60_000;
    doc = await getJson<SwaggerDocument>(`${fleet.url(2)}/api/swagger.json`);
    expect(doc.definitions.disk_usage.properties?.reserved).toEqual({ description: 'reserved', type: 'number' });
    const body = await getJson<AllResponse>(`${fleet.url(2)}/all?since=${T0}`);
    expect(body).toEqual(fleet.model(2).all(T0, clock.t));
    for (const rows of Object.values(body.system.diskusage)) {
      for (const row of rows) expect('reserved' in row).toBe(row.timestamp >= T0 + 20_000);
      expect(rows.some((r) => 'reserved' in r)).toBe(true);
    }
  });

  it('serviceFailed marks the service process and socket failed', async () => {
    const { fleet } = await start();
    const id = fleet.hostModel(3).services[1].id;
    fleet.setFault(3, { kind: 'serviceFailed', serviceId: id });
    const body = await getJson<AllResponse>(`${fleet.url(3)}/all`);
    const st = body.services[id].status;
    expect(st.sockets.map((s) => s.status)).toEqual(['failed']);
    expect(st.process[0].status).toBe('failed');
    expect(st.process[0].pid).toBeUndefined();
    const other = Object.keys(body.services).find((s) => s !== id) as string;
    expect(body.services[other].status.process[0].status).toBe('ok');
    expect(await getJson(`${fleet.url(3)}/service/${id}/status`)).toEqual(st);
  });

  it('restart empties the buffer before the restart and can move the clock backwards', async () => {
    const { fleet, clock } = await start();
    const before = await getJson<AllResponse>(`${fleet.url(0)}/all`);
    clock.t = T0 + 60_000;
    fleet.setFault(0, { kind: 'restart' }); // restarted now
    clock.t = T0 + 90_000;
    const after = await getJson<AllResponse>(`${fleet.url(0)}/all`);
    expect(countRows(after).system).toBeGreaterThan(0);
    for (const rows of Object.values(after.system.cpuuse)) {
      expect(rows.length).toBe(6);
      for (const r of rows) expect(r.timestamp).toBeGreaterThanOrEqual(T0 + 60_000);
    }
    for (const s of Object.values(after.services)) for (const e of s.logs.entries) expect(e.timestamp).toBeGreaterThanOrEqual(T0 + 60_000);
    // An agent whose clock went back by 5 minutes: the backend's cursor is now in its future.
    fleet.setFault(0, { kind: 'restart', atMs: T0 + 60_000, clockSkewMs: 300_000 });
    const skewed = await getJson<AllResponse>(`${fleet.url(0)}/all?since=${before.timestamp}`);
    expect(skewed.timestamp).toBe(T0 + 90_000 - 300_000);
    expect(skewed.timestamp).toBeLessThan(before.timestamp);
    expect(countRows(skewed)).toEqual({ system: 0, service: 0, logs: 0, rows: 0 });
    const fromScratch = await getJson<AllResponse>(`${fleet.url(0)}/all`);
    expect(countRows(fromScratch).system).toBeGreaterThan(0);
    expect(fromScratch).toEqual(fleet.model(0).all(undefined, clock.t));
  });

  it('combines faults: slow then newProperty', async () => {
    const { fleet } = await start();
    fleet.setFault(1, [{ kind: 'slow', delayMs: 50 }, { kind: 'newProperty', fromMs: 0 }]);
    const body = await getJson<AllResponse>(`${fleet.url(1)}/all?since=${T0 - 5_000}`);
    expect(body.system.memory.memory[0]).toHaveProperty('sim_new');
  });
});
