import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AgentRegistry, type RegisteredAgent, type RowDataPacket } from '@watched/core';
import { historyOf, HostileAgent, json, numericType, swaggerOf } from './hostile-agent.js';
import { createPipeline, type PipelineHarness } from './pipeline-harness.js';

const NOW = Date.now();
const row = (offset: number, user: unknown = 1.5, system: unknown = 2.5) => ({ timestamp: NOW - offset, user, system });
const all = (rows: unknown[], extra: Record<string, unknown> = {}) => ({ timestamp: NOW, system: { cpuuse: { all: rows } }, ...extra });
const CAP = 4 * 1024 * 1024;
/** Names that must never become SQL: quotes, separators, spaces, unicode, 300 characters, `$`. */
const HOSTILE_NAMES = ['x`y', "it's", 'q"uote', 'semi;colon', 'sp ace', 'ünï', 'p'.repeat(300), 'd$ollar', '1st'];
/** The cursor a restarted agent's clock falls behind. */
const CURSOR_AHEAD = NOW + 3_600_000;

interface Case {
  name: string;
  agent: () => HostileAgent;
  /** `ok`: the poll succeeds (bad parts dropped); otherwise the error the agent records. */
  expect: 'ok' | RegExp;
  /** A cursor stored before the poll, as if an earlier poll had happened. */
  cursor?: number;
}

const cases: Case[] = [
  { name: 'malformed-json', agent: () => new HostileAgent('malformed-json', { all: (_q, r) => json(r, '{"timestamp": 1, "system": {') }), expect: /not valid JSON/ },
  {
    name: 'truncated',
    agent: () =>
      new HostileAgent('truncated', {
        all: (_q, r) => {
          r.writeHead(200, { 'content-type': 'application/json', 'content-length': 5000 });
          r.write(JSON.stringify(all([row(1000)])).slice(0, 40));
          setTimeout(() => r.destroy(), 50);
        },
      }),
    expect: /network|bad-payload/,
  },
  { name: 'html-200', agent: () => new HostileAgent('html-200', { all: (_q, r) => json(r, '<html><body>It works</body></html>', 200, 'text/html') }), expect: /not valid JSON/ },
  { name: 'html-500', agent: () => new HostileAgent('html-500', { all: (_q, r) => json(r, '<html>Internal error</html>', 500, 'text/html') }), expect: /HTTP 500/ },
  { name: 'wrong-content-type', agent: () => new HostileAgent('wrong-content-type', { all: (_q, r) => json(r, all([row(1000)]), 200, 'text/plain') }), expect: 'ok' },
  { name: 'empty-body', agent: () => new HostileAgent('empty-body', { all: (_q, r) => json(r, '') }), expect: /not valid JSON/ },
  {
    name: 'too-large',
    agent: () =>
      new HostileAgent('too-large', {
        all: (_q, r) => {
          r.writeHead(200, { 'content-type': 'application/json' });
          const chunk = Buffer.alloc(64 * 1024, 0x20);
          let sent = 0;
          const pump = () => {
            while (sent < CAP * 2) {
              sent += chunk.length;
              if (!r.write(chunk)) return void r.once('drain', pump);
            }
            r.end();
          };
          pump();
        },
      }),
    expect: /too-large: .*larger than/,
  },
  { name: 'never-ends', agent: () => new HostileAgent('never-ends', { all: (_q, r) => void r.writeHead(200).write('{"timestamp":') }), expect: /timeout/ },
  {
    name: 'slow-drip',
    agent: () => {
      const agent: HostileAgent = new HostileAgent('slow-drip', {
        all: (_q, r) => {
          r.writeHead(200, { 'content-type': 'application/json' });
          agent.every(200, () => r.write(' '));
        },
      });
      return agent;
    },
    expect: /timeout/,
  },
  { name: 'nan-literal', agent: () => new HostileAgent('nan-literal', { all: (_q, r) => json(r, `{"timestamp":${NOW},"system":{"cpuuse":{"all":[{"timestamp":${NOW - 1},"user":NaN}]}}}`) }), expect: /not valid JSON/ },
  {
    name: 'weird-values',
    agent: () => new HostileAgent('weird-values', { all: (_q, r) => json(r, all([row(1000, 'abc', 1), row(2000, true, 2), row(3000, { x: 1 }, 3), row(4000, [1], 4), row(5000, '7.5', 5)])) }),
    expect: 'ok',
  },
  {
    name: 'bad-timestamps',
    agent: () =>
      new HostileAgent('bad-timestamps', {
        all: (_q, r) => json(r, all([{ user: 1 }, { ...row(0), timestamp: -5 }, { ...row(0), timestamp: 0 }, { ...row(0), timestamp: NOW + 10 * 86_400_000 }, { ...row(0), timestamp: 'x' }, row(1000)])),
      }),
    expect: 'ok',
  },
  { name: 'duplicate-rows', agent: () => new HostileAgent('duplicate-rows', { all: (_q, r) => json(r, all([row(1000), row(1000), row(1000, 9, 9)])) }), expect: 'ok' },
  {
    name: 'ref-nowhere',
    agent: () =>
      new HostileAgent('ref-nowhere', {
        swagger: (_q, r) =>
          json(r, swaggerOf('ref-nowhere', { paths: { '/system/ghost/x/history': historyOf('ref-nowhere', 'nothing') } })),
        all: (_q, r) => json(r, all([row(1000)])),
      }),
    expect: 'ok',
  },
  {
    name: 'reserved-and-dollar',
    agent: () =>
      new HostileAgent('reserved-and-dollar', {
        swagger: (_q, r) =>
          json(r, swaggerOf('reserved-and-dollar', {
            paths: { '/system/sql/order/history': historyOf('reserved-and-dollar', 'order') },
            definitions: { order: numericType(['select', 'a$b']) },
          })),
        all: (_q, r) => json(r, { timestamp: NOW, system: { sql: { order: [{ timestamp: NOW - 1, select: 4, 'a$b': 5 }] }, cpuuse: { all: [row(1000)] } } }),
      }),
    expect: 'ok',
  },
  {
    name: 'too-many-properties',
    agent: () => {
      const values = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`p${i}`, i]));
      return new HostileAgent('too-many-properties', {
        swagger: (_q, r) =>
          json(r, swaggerOf('too-many-properties', {
            paths: { '/system/wide/t/history': historyOf('too-many-properties', 'wide') },
            definitions: { wide: numericType(Array.from({ length: 300 }, (_, i) => `p${i}`)) },
          })),
        all: (_q, r) => json(r, { timestamp: NOW, system: { wide: { t: [{ timestamp: NOW - 1, ...values }] } } }),
      });
    },
    expect: 'ok',
  },
  {
    name: 'hostile-service',
    agent: () =>
      new HostileAgent('hostile-service', {
        all: (_q, r) =>
          json(r, all([row(1000)], {
            services: {
              "x'); DROP TABLE `s$services`;--": {
                status: { host: 'hostile-service', properties: { type: 'a`b' }, sockets: [{ name: 'tcp:1', status: 'ok' }], process: [] },
                logs: { host: 'hostile-service', entries: [{ timestamp: NOW - 5, date_mark: 'now', line_no: 1, level: 'error', source: '/x', text: 'L'.repeat(1024 * 1024) }] },
              },
            },
          })),
      }),
    expect: 'ok',
  },
  { name: 'redirect', agent: () => new HostileAgent('redirect', { all: (_q, r) => void r.writeHead(302, { location: 'http://127.0.0.1:1/all' }).end() }), expect: /HTTP 302/ },
  {
    // Followed, this would fail with a DNS error instead: the 302 itself is the recorded failure.
    name: 'redirect-other-host',
    agent: () => new HostileAgent('redirect-other-host', { all: (_q, r) => void r.writeHead(301, { location: 'https://attacker.invalid/all' }).end() }),
    expect: /HTTP 301/,
  },
  {
    name: 'html-500-swagger',
    agent: () => new HostileAgent('html-500-swagger', { swagger: (_q, r) => json(r, '<html>Internal error</html>', 500, 'text/html'), all: (_q, r) => json(r, all([row(1000)])) }),
    expect: /swagger\.json answered HTTP 500/,
  },
  {
    // 1e999 parses to Infinity: must be stored as NULL, not as a value or an SQL error.
    name: 'infinity',
    agent: () => new HostileAgent('infinity', { all: (_q, r) => json(r, `{"timestamp":${NOW},"system":{"cpuuse":{"all":[{"timestamp":${NOW - 1000},"user":1e999,"system":-1e999}]}}}`) }),
    expect: 'ok',
  },
  {
    name: 'hostile-names',
    agent: () =>
      new HostileAgent('hostile-names', {
        swagger: (_q, r) =>
          json(r, swaggerOf('hostile-names', {
            paths: {
              '/system/named/ok/history': historyOf('hostile-names', 'named'),
              ...Object.fromEntries(HOSTILE_NAMES.map((name, i) => [`/system/bad/r${i}/history`, historyOf('hostile-names', name)])),
            },
            definitions: {
              named: numericType(['ok_prop', ...HOSTILE_NAMES]),
              ...Object.fromEntries(HOSTILE_NAMES.map((name) => [name, numericType(['v'])])),
            },
          })),
        all: (_q, r) =>
          json(r, {
            timestamp: NOW,
            system: {
              named: { ok: [{ timestamp: NOW - 1, ok_prop: 1, ...Object.fromEntries(HOSTILE_NAMES.map((n) => [n, 2])) }] },
              bad: Object.fromEntries(HOSTILE_NAMES.map((_n, i) => [`r${i}`, [{ timestamp: NOW - 1, v: 3 }]])),
            },
          }),
      }),
    expect: 'ok',
  },
  {
    name: 'too-many-types',
    agent: () =>
      new HostileAgent('too-many-types', {
        swagger: (_q, r) =>
          json(r, swaggerOf('too-many-types', {
            paths: Object.fromEntries(Array.from({ length: 210 }, (_, i) => [`/system/many/t${i}/history`, historyOf('too-many-types', `many_${i}`)])),
            definitions: Object.fromEntries(Array.from({ length: 210 }, (_, i) => [`many_${i}`, numericType(['v'])])),
          })),
        all: (_q, r) => json(r, all([row(1000)])),
      }),
    expect: 'ok',
  },
  {
    // The agent restarted with a clock behind the stored cursor: its data is still stored and the cursor follows its clock.
    name: 'since-backwards',
    agent: () => new HostileAgent('since-backwards', { all: (_q, r) => json(r, all([row(1000), row(2000)])) }),
    expect: 'ok',
    cursor: CURSOR_AHEAD,
  },
];

describe('hostile agents: each fails or drops only its bad part; the others are unaffected', () => {
  let p: PipelineHarness;
  const agents = new Map<string, HostileAgent>();
  let registered: RegisteredAgent[];
  const byName = (name: string) => registered.find((a) => a.port === ports.get(name))!;
  const ports = new Map<string, number>();
  const count = async (sql: string, params: unknown[] = []) => Number((await p.env.pool.query<RowDataPacket[]>(sql, params))[0][0].n);

  beforeAll(async () => {
    p = await createPipeline('hostile', { hosts: 3 }, { agentTimeout: '2s', agentMaxResponseBytes: CAP, agentConcurrency: 32 });
    for (const c of cases) {
      const agent = c.agent();
      agents.set(c.name, agent);
      ports.set(c.name, await agent.start());
    }
    await new AgentRegistry(p.env.pool).add(cases.map((c) => ({ host: '127.0.0.1', port: ports.get(c.name)!, pollIntervalS: 3600 })));
    registered = await new AgentRegistry(p.env.pool).list();
    for (const c of cases.filter((c) => c.cursor !== undefined)) {
      await p.env.pool.query('INSERT INTO `agt$state` (agt_id, since) VALUES (?, ?)', [byName(c.name).id, c.cursor]);
    }
    await p.poll(1);
    registered = await new AgentRegistry(p.env.pool).list();
  });
  afterAll(async () => {
    for (const agent of agents.values()) await agent.close();
    await p?.close();
  });

  it.each(cases.map((c) => [c.name, c.expect] as const))('%s', async (name, expected) => {
    const agent = byName(name);
    if (expected === 'ok') {
      expect(agent.lastOk).not.toBeNull();
      expect(agent.consecutiveFailures).toBe(0);
    } else {
      expect(agent.lastOk).toBeNull();
      expect(agent.consecutiveFailures).toBe(1);
      expect(agent.lastError).toMatch(expected);
      expect(agent.lastError).toContain(`127.0.0.1:${agent.port}`);
    }
  });

  it('stores every healthy simulated host in the same job', async () => {
    for (const a of p.fleet.agents()) {
      expect(await count('SELECT COUNT(*) AS n FROM `d$cpu_usage` d JOIN `h$hosts` h ON h.id = d.host_id WHERE h.name = ?', [a.hostname])).toBeGreaterThan(0);
    }
  });

  it('keeps the valid part of a response and counts what it dropped', async () => {
    const stored = async (host: string) =>
      (await p.env.pool.query<RowDataPacket[]>('SELECT d.`timestamp`, d.user, d.system FROM `d$cpu_usage` d JOIN `h$hosts` h ON h.id = d.host_id WHERE h.name = ? ORDER BY d.`timestamp` DESC', [host]))[0];
    const weird = await stored('weird-values');
    expect(weird.map((r) => [r.user, r.system])).toEqual([[null, 1], [null, 2], [null, 3], [null, 4], [7.5, 5]]);
    expect(await count('SELECT parse AS n FROM `agt$history` WHERE agt_id = ?', [byName('weird-values').id])).toBe(4);
    expect((await stored('bad-timestamps')).map((r) => r.timestamp)).toEqual([NOW - 1000]);
    const duplicates = await stored('duplicate-rows');
    expect(duplicates).toHaveLength(1);
    expect(byName('ref-nowhere').lastError).toMatch(/unknown type nothing/);
  });

  it('turns names into identifiers only after validation', async () => {
    const [columns] = await p.env.pool.query<RowDataPacket[]>(
      "SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'd$order'",
    );
    expect(columns.map((c) => c.c)).toEqual(['host_id', 'res_id', 'timestamp', 'select']);
    expect(await count('SELECT COUNT(*) AS n FROM `d$order` WHERE `select` = 4')).toBe(1);
    expect(byName('reserved-and-dollar').lastError).toMatch(/a\$b/);
    const [wide] = await p.env.pool.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'd$wide'",
    );
    expect(Number(wide[0].n)).toBe(3 + 250);
    expect(byName('too-many-properties').lastError).toMatch(/more than 250/);
  });

  it('stores Infinity as NULL, keeps valid names beside hostile ones, caps types per agent', async () => {
    const [[infinite]] = await p.env.pool.query<RowDataPacket[]>(
      'SELECT d.user, d.system FROM `d$cpu_usage` d JOIN `h$hosts` h ON h.id = d.host_id WHERE h.name = ?',
      ['infinity'],
    );
    expect(infinite).toEqual({ user: null, system: null });
    const [columns] = await p.env.pool.query<RowDataPacket[]>(
      "SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'd$named'",
    );
    expect(columns.map((c) => c.c)).toEqual(['host_id', 'res_id', 'timestamp', 'ok_prop']);
    expect(await count('SELECT COUNT(*) AS n FROM `d$named` WHERE ok_prop = 1')).toBe(1);
    // No table or column from a hostile name: every d$ table name is a validated identifier.
    const [tables] = await p.env.pool.query<RowDataPacket[]>(
      "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'd$%'",
    );
    for (const { t } of tables) expect(t).toMatch(/^d\$[A-Za-z][A-Za-z0-9_]{0,47}$/);
    expect(byName('hostile-names').lastError).toMatch(/is not a valid name/);
    expect(byName('too-many-types').lastError).toMatch(/more than 200 data types/);
  });

  it('follows an agent whose clock went back behind the cursor (restart), storing its rows', async () => {
    const agent = byName('since-backwards');
    expect(agents.get('since-backwards')!.requests.some((url) => url.includes(`since=${CURSOR_AHEAD}`))).toBe(true);
    expect(await count('SELECT since AS n FROM `agt$state` WHERE agt_id = ?', [agent.id])).toBe(NOW);
    expect(await count('SELECT COUNT(*) AS n FROM `d$cpu_usage` d JOIN `h$hosts` h ON h.id = d.host_id WHERE h.name = ?', ['since-backwards'])).toBe(2);
  });

  it('stores hostile service ids and types as plain values, and cuts a 1 MiB log line', async () => {
    const [[service]] = await p.env.pool.query<RowDataPacket[]>(
      'SELECT s.name, t.name AS type FROM `s$services` s JOIN `s$types` t ON t.id = s.type_id JOIN `h$hosts` h ON h.id = s.host_id WHERE h.name = ?',
      ['hostile-service'],
    );
    expect(service).toEqual({ name: "x'); DROP TABLE `s$services`;--", type: 'a`b' });
    const [[log]] = await p.env.pool.query<RowDataPacket[]>('SELECT CHAR_LENGTH(text) AS n, event_type FROM `s$log_events`');
    expect(log).toEqual({ n: 4096, event_type: 2 });
  });
});
