import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RowDataPacket } from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import { Inventory } from './inventory.js';

describe('Inventory (real MariaDB)', () => {
  let env: TestEnvironment;
  beforeAll(async () => {
    env = await createTestEnvironment('inventory');
  });
  afterAll(async () => env.cleanup());

  const links = async () => {
    const [rows] = await env.pool.query<RowDataPacket[]>('SELECT h.name AS host, r.name AS res FROM `h$ressources` l JOIN `h$hosts` h ON h.id = l.host_id JOIN `c$ressources` r ON r.id = l.res_id ORDER BY 1, 2');
    return rows.map((r) => `${r.host} ${r.res}`);
  };

  it('links each owner to its resources once, adding those an owner gains later', async () => {
    const inventory = new Inventory(env.pool);
    const hosts = await inventory.hostIds(['web1', 'web2']);
    const res = await inventory.resourceIds([
      { scope: 'system', collector: 'cpuuse', resource: 'all', name: 'cpuuse/all', dataType: 'cpu_usage' },
      { scope: 'system', collector: 'memory', resource: 'memory', name: 'memory/memory', dataType: 'memory' },
    ]);
    const [web1, web2] = [hosts.get('web1')!, hosts.get('web2')!];
    const [cpu, memory] = [...res.values()];
    await inventory.link('h$ressources', [[web1, cpu], [web2, cpu]]);
    expect(await links()).toEqual(['web1 cpuuse/all', 'web2 cpuuse/all']);
    // web1 gains a resource: known links are kept, the new one written.
    await inventory.link('h$ressources', [[web1, cpu], [web1, memory], [web2, cpu]]);
    expect(await links()).toEqual(['web1 cpuuse/all', 'web1 memory/memory', 'web2 cpuuse/all']);
    // Another worker (nothing cached) and concurrent calls write nothing twice.
    const other = new Inventory(env.pool);
    await Promise.all([other.link('h$ressources', [[web1, memory], [web2, memory]]), other.link('h$ressources', [[web2, memory], [web2, cpu]])]);
    expect(await links()).toEqual(['web1 cpuuse/all', 'web1 memory/memory', 'web2 cpuuse/all', 'web2 memory/memory']);
  });
});
