import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AgentRegistry, type RegisteredAgent, type RowDataPacket } from '@watched/core';
import { historyOf, HostileAgent, json, numericType, swaggerOf } from './hostile-agent.js';
import { expectSameRows, servedRows, storedRows } from './fleet-expectations.js';
import { createPipeline, type PipelineHarness } from './pipeline-harness.js';

const NOW = Date.now();
const row = (offset: number, user: unknown = 1.5, system: unknown = 2.5) => ({ timestamp: NOW - offset, user, system });
const all = (rows: unknown[], extra: Record<string, unknown> = {}) => ({ timestamp: NOW, system: { cpuuse: { all: rows } }, ...extra });
const CAP = 4 * 1024 * 1024;
/** Names that must never become SQL: quotes, separators, spaces, unicode, 300 characters, `$`. */
const HOSTILE_NAMES = ['x`y', "it's", 'q"uote', 'semi;colon', 'sp ace', 'ünï', 'p'.repeat(300), 'd$ollar', '1st'];
/** The cursor a restarted agent's clock falls behind. */
const CURSOR_AHEAD = NOW + 3_600_000;

/** A service whose status and logs carry `overrides` (status.properties.type, process, sockets, log entries, host). */
function serviceOf(host: string, overrides: { type?: unknown; process?: unknown; sockets?: unknown; entries?: unknown } = {}) {
  return {
    status: { host, properties: { type: overrides.type ?? 'web' }, sockets: overrides.sockets ?? [{ name: 'tcp:80', status: 'ok' }], process: overrides.process ?? [] },
    logs: { host, entries: overrides.entries ?? [] },
  };
}
const logEntry = (lineNo: number, fields: Record<string, unknown> = {}) => ({ timestamp: NOW - 5, date_mark: 'd', line_no: lineNo, level: 'info', source: '/var/log/x', text: 'line', ...fields });
const LONG = 'n'.repeat(257);
/** 200 characters of 4 bytes each: fits VARCHAR(256) utf8mb4, though 400 UTF-16 units long. */
const EMOJI_HOST = '\u{1F600}'.repeat(200);
/** Limits of this pipeline (the derived defaults are larger); cases below go past each. */
const LIMITS = { agentMaxResources: 500, agentMaxLogLines: 200, agentMaxNames: 1000 };
/** An agent answering `/all` with `services`, besides one healthy cpu row. */
const withServices = (name: string, services: Record<string, unknown>) => new HostileAgent(name, { all: (_q, r) => json(r, all([row(1000)], { services })) });

/** Answers `/all` with 8 MB (twice the cap), streamed in 64 KB chunks. */
const tooLargeAgent = () =>
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
  });

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
  // Values that cannot be stored as sent: the agent's poll fails naming the field and its column, before any write.
  {
    name: 'long-host-name',
    agent: () => new HostileAgent('long-host-name', { swagger: (_q, r) => json(r, swaggerOf(LONG)), all: (_q, r) => json(r, all([row(1000)])) }),
    expect: /host name longer than 256 characters \(h\$hosts\.name\): "n{39}/,
  },
  { name: 'long-service-id', agent: () => withServices('long-service-id', { [LONG]: serviceOf('long-service-id') }), expect: /service id longer than 256 characters \(s\$services\.name\)/ },
  { name: 'long-service-host', agent: () => withServices('long-service-host', { svc: serviceOf(LONG) }), expect: /host name of service "svc" longer than 256 characters/ },
  { name: 'long-service-type', agent: () => withServices('long-service-type', { svc: serviceOf('long-service-type', { type: LONG }) }), expect: /type of service "svc" longer than 256 characters \(s\$types\.name\)/ },
  {
    name: 'long-resource-name',
    agent: () =>
      new HostileAgent('long-resource-name', {
        swagger: (_q, r) => json(r, swaggerOf('long-resource-name', { paths: { [`/system/cpuuse/${LONG}/history`]: historyOf('long-resource-name', 'cpu_usage') } })),
        all: (_q, r) => json(r, { timestamp: NOW, system: { cpuuse: { all: [row(1000)], [LONG]: [row(1000)] } } }),
      }),
    expect: /resource name longer than 256 characters \(c\$ressources\.name\)/,
  },
  {
    name: 'long-process-name',
    agent: () => withServices('long-process-name', { svc: serviceOf('long-process-name', { process: [{ name: LONG, pid: 1, status: 'ok' }] }) }),
    expect: /process name longer than 256 characters \(s\$process\.name\)/,
  },
  {
    name: 'long-socket-name',
    agent: () => withServices('long-socket-name', { svc: serviceOf('long-socket-name', { sockets: [{ name: LONG, status: 'ok' }] }) }),
    expect: /socket name longer than 256 characters \(s\$sockets\.name\)/,
  },
  {
    name: 'long-log-source',
    agent: () => withServices('long-log-source', { svc: serviceOf('long-log-source', { entries: [logEntry(1, { source: LONG })] }) }),
    expect: /log source longer than 256 characters \(s\$log_events\.source_name\)/,
  },
  {
    name: 'long-log-date-mark',
    agent: () => withServices('long-log-date-mark', { svc: serviceOf('long-log-date-mark', { entries: [logEntry(1, { date_mark: LONG })] }) }),
    expect: /log date_mark longer than 256 characters \(s\$log_events\.date_field\)/,
  },
  {
    // JSON's "\ud800" is a lone surrogate: no UTF-8 form, it would be stored as U+FFFD.
    name: 'lone-surrogate',
    agent: () => new HostileAgent('lone-surrogate', { all: (_q, r) => json(r, `{"timestamp":${NOW},"services":{"svc":{"status":{"host":"bad\\ud800host","properties":{"type":"web"}},"logs":{"host":"bad\\ud800host","entries":[]}}}}`) }),
    expect: /host name of service "svc" is not valid Unicode/,
  },
  {
    // 4-byte characters fit utf8mb4 columns: a name is measured in characters, not UTF-16 units, and stored exactly.
    name: 'four-byte-names',
    agent: () =>
      withServices('four-byte-names', {
        svc: serviceOf(EMOJI_HOST, { type: '\u{1F680}', sockets: [{ name: '\u{1F50C}'.repeat(256), status: 'ok \u{1F44D}' }], entries: [logEntry(1, { text: '\u{1F4A5}'.repeat(5000) })] }),
      }),
    expect: 'ok',
  },
  {
    // Out of range for INT UNSIGNED: a pid is stored as NULL, a log entry with such a line number is dropped; DOUBLE takes any finite value.
    name: 'out-of-range-numbers',
    agent: () =>
      new HostileAgent('out-of-range-numbers', {
        all: (_q, r) =>
          json(r, all([row(1000, 1.7976931348623157e308, -5e-324)], {
            services: { svc: serviceOf('out-of-range-numbers', { process: [{ name: 'p', pid: 2 ** 40, status: 'ok' }], entries: [logEntry(2 ** 33), logEntry(-1), logEntry(1.5), logEntry(7)] }) },
          })),
      }),
    expect: 'ok',
  },
  {
    // Wrong JSON types everywhere: each part that cannot be read is dropped, the rest stored.
    name: 'wrong-types',
    agent: () =>
      new HostileAgent('wrong-types', {
        all: (_q, r) =>
          json(r, {
            timestamp: NOW,
            system: { cpuuse: { all: [row(1000), 'row', 7, null, [1, 2]], other: 'x' }, bad: [1, 2] },
            services: {
              arr: [1, 2, 3],
              num: 5,
              svc: { status: { host: 'wrong-types', properties: { type: { nested: true } }, process: { name: 'x' }, sockets: [5, 'x', null, { name: { a: 1 } }, { name: 'tcp:1', status: 7 }] }, logs: { host: 'wrong-types', entries: [logEntry(1, { text: { a: [1] }, source: 5, level: ['x'] }), 'x', null] } },
            },
          }),
      }),
    expect: 'ok',
  },
  {
    name: 'nested-junk',
    agent: () =>
      new HostileAgent('nested-junk', {
        all: (_q, r) => json(r, `{"timestamp":${NOW},"deep":${'['.repeat(50_000)}${']'.repeat(50_000)},"system":{"cpuuse":{"all":[{"timestamp":${NOW - 1000},"user":${'['.repeat(1000)}1${']'.repeat(1000)},"system":{"a":{"b":[{}]}}}]}}}`),
      }),
    expect: 'ok',
  },
  {
    // A tiny answer of tiny JSON values parses to 20 times its size: refused before parsing.
    name: 'parse-bomb',
    agent: () => {
      const body = `{"timestamp":${NOW},"junk":[${Array(1_100_000).fill('{}').join(',')}]}`;
      return new HostileAgent('parse-bomb', { all: (_q, r) => json(r, body) });
    },
    expect: /would take about [\d.]+ MiB to parse, more than [\d.]+ MiB \(limit --worker-memory\)/,
  },
  // Limits per agent: past one the poll is refused, naming the limit's option.
  {
    name: 'too-many-resources',
    agent: () =>
      new HostileAgent('too-many-resources', {
        swagger: (_q, r) =>
          json(r, swaggerOf('too-many-resources', { paths: Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`/system/cpuuse/c${i}/history`, historyOf('too-many-resources', 'cpu_usage')])) })),
        all: (_q, r) => json(r, all([row(1000)])),
      }),
    expect: /more than 500 resources .*--agent-max-resources/,
  },
  {
    name: 'too-many-log-lines',
    agent: () => withServices('too-many-log-lines', { svc: serviceOf('too-many-log-lines', { entries: Array.from({ length: 300 }, (_, i) => logEntry(i)) }) }),
    expect: /more than 200 log lines .*--agent-max-log-lines/,
  },
  {
    name: 'too-many-names',
    agent: () => withServices('too-many-names', { svc: serviceOf('too-many-names', { sockets: Array.from({ length: 1100 }, (_, i) => ({ name: `tcp:${i}`, status: 'ok' })) }) }),
    expect: /more than 1000 distinct names .*--agent-max-names/,
  },
  {
    // 25 new data types with rows: 20 tables (and their rollups) this poll, the poll fails with its cursor kept; the next stores all.
    name: 'many-new-types',
    agent: () =>
      new HostileAgent('many-new-types', {
        swagger: (_q, r) =>
          json(r, swaggerOf('many-new-types', {
            paths: Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`/system/fresh/t${i}/history`, historyOf('many-new-types', `fresh_${i}`)])),
            definitions: Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`fresh_${i}`, numericType(['v'])])),
          })),
        all: (_q, r) => json(r, { timestamp: NOW, system: { fresh: Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`t${i}`, [{ timestamp: NOW - 1, v: i }]])) } }),
      }),
    expect: /sent 25 new data types in one answer \(limit --agent-max-new-data-tables\): 20 created by this poll, 5 left for the next polls/,
  },
  {
    // Two spellings of one host under h$hosts' case-insensitive collation: the agent fails, not the job.
    name: 'case-collision',
    agent: () => withServices('case-collision', { svc: serviceOf('CASE-COLLISION') }),
    expect: /differs only in case or accents/,
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
    // 6 s: long enough for healthy answers served by this loaded process beside the hostile ones; the timeout cases wait it out.
    // (The too-large case has its own pipeline below: here it raced this timeout under load.)
    p = await createPipeline('hostile', { hosts: 3 }, { agentTimeout: '6s', agentMaxResponseBytes: CAP, agentConcurrency: 32, ...LIMITS });
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

  it('stores every healthy simulated host of the same job exactly', async () => {
    for (const a of p.fleet.agents()) {
      expect(await count('SELECT COUNT(*) AS n FROM `d$cpu_usage` d JOIN `h$hosts` h ON h.id = d.host_id WHERE h.name = ?', [a.hostname])).toBeGreaterThan(0);
    }
    const hostnames = new Set(p.fleet.agents().map((a) => a.hostname));
    const served = servedRows(p.fleet, p.fleet.agents().map((_a, i) => i), undefined, p.now());
    // Property order follows each d$ table's columns, which hostile agents of the same types added in another order.
    const canonical = (rows: Map<string, Record<string, number | null>>) => new Map([...rows].map(([k, v]) => [k, Object.fromEntries(Object.entries(v).sort())]));
    const stored = new Map([...(await storedRows(p.env.pool)).rows].filter(([key]) => hostnames.has(key.split('|')[0])));
    expect(served.size).toBeGreaterThan(100);
    expectSameRows(canonical(stored), canonical(served));
  });

  it('writes nothing of an agent whose values cannot be stored, and no cut or repaired name anywhere', async () => {
    const refusedHosts = ['long-host-name', 'long-service-id', 'long-service-host', 'long-service-type', 'long-resource-name', 'long-process-name', 'long-socket-name', 'long-log-source', 'long-log-date-mark'];
    for (const host of refusedHosts) {
      expect(await count('SELECT COUNT(*) AS n FROM `s$services` s JOIN `h$hosts` h ON h.id = s.host_id WHERE h.name = ?', [host])).toBe(0);
      expect(await count('SELECT COUNT(*) AS n FROM `d$cpu_usage` d JOIN `h$hosts` h ON h.id = d.host_id WHERE h.name = ?', [host])).toBe(0);
      const agent = byName(host);
      expect(await count('SELECT failed AS n FROM `agt$history` WHERE agt_id = ?', [agent.id])).toBe(1);
    }
    for (const [table, column] of [['h$hosts', 'name'], ['s$services', 'name'], ['s$types', 'name'], ['c$ressources', 'name'], ['s$process', 'name'], ['s$sockets', 'name'], ['s$log_events', 'source_name'], ['s$log_events', 'date_field']]) {
      expect(await count(`SELECT COUNT(*) AS n FROM \`${table}\` WHERE ${column} LIKE 'nnnn%' OR INSTR(${column} COLLATE utf8mb4_bin, ?) > 0`, ['\ufffd'])).toBe(0);
    }
  });

  it('stores 4-byte names exactly and range-checks numbers', async () => {
    const [[service]] = await p.env.pool.query<RowDataPacket[]>(
      'SELECT h.name AS host, t.name AS type FROM `s$services` s JOIN `s$types` t ON t.id = s.type_id JOIN `h$hosts` h ON h.id = s.host_id WHERE s.name = ? AND h.name = ?',
      ['svc', EMOJI_HOST],
    );
    expect(service).toEqual({ host: EMOJI_HOST, type: '\u{1F680}' });
    const [[socket]] = await p.env.pool.query<RowDataPacket[]>('SELECT k.name, k.status FROM `s$sockets` k JOIN `s$services` s ON s.id = k.serv_id JOIN `h$hosts` h ON h.id = s.host_id WHERE h.name = ?', [EMOJI_HOST]);
    expect(socket).toEqual({ name: '\u{1F50C}'.repeat(256), status: 'ok \u{1F44D}' });
    const [[log]] = await p.env.pool.query<RowDataPacket[]>('SELECT l.text FROM `s$log_events` l JOIN `s$services` s ON s.id = l.serv_id JOIN `h$hosts` h ON h.id = s.host_id WHERE h.name = ?', [EMOJI_HOST]);
    expect(log.text).toBe('\u{1F4A5}'.repeat(4096));

    const host = 'out-of-range-numbers';
    const [[metric]] = await p.env.pool.query<RowDataPacket[]>('SELECT d.user, d.system FROM `d$cpu_usage` d JOIN `h$hosts` h ON h.id = d.host_id WHERE h.name = ?', [host]);
    expect(metric).toEqual({ user: 1.7976931348623157e308, system: -5e-324 });
    const [[process]] = await p.env.pool.query<RowDataPacket[]>('SELECT p.pid FROM `s$process` p JOIN `s$services` s ON s.id = p.serv_id JOIN `h$hosts` h ON h.id = s.host_id WHERE h.name = ?', [host]);
    expect(process.pid).toBeNull();
    const [lines] = await p.env.pool.query<RowDataPacket[]>('SELECT l.line_no FROM `s$log_events` l JOIN `s$services` s ON s.id = l.serv_id JOIN `h$hosts` h ON h.id = s.host_id WHERE h.name = ?', [host]);
    expect(lines.map((l) => l.line_no)).toEqual([7]);
    expect(await count('SELECT parse AS n FROM `agt$history` WHERE agt_id = ?', [byName(host).id])).toBe(3);
  });

  it('keeps what it can read of wrong JSON types and nested junk', async () => {
    const cpu = (host: string) => count('SELECT COUNT(*) AS n FROM `d$cpu_usage` d JOIN `h$hosts` h ON h.id = d.host_id WHERE h.name = ?', [host]);
    expect(await cpu('wrong-types')).toBe(1);
    const [sockets] = await p.env.pool.query<RowDataPacket[]>('SELECT k.name, k.status FROM `s$sockets` k JOIN `s$services` s ON s.id = k.serv_id JOIN `h$hosts` h ON h.id = s.host_id WHERE h.name = ?', ['wrong-types']);
    expect(sockets).toEqual([{ name: 'tcp:1', status: '7' }]);
    const [[nested]] = await p.env.pool.query<RowDataPacket[]>('SELECT d.user, d.system FROM `d$cpu_usage` d JOIN `h$hosts` h ON h.id = d.host_id WHERE h.name = ?', ['nested-junk']);
    expect(nested).toEqual({ user: null, system: null });
  });

  it('records a refused agent in agt$state, agt$history and the agent list with its reason', async () => {
    const agent = byName('too-many-resources');
    const [[state]] = await p.env.pool.query<RowDataPacket[]>('SELECT last_error, consecutive_failures FROM `agt$state` WHERE agt_id = ?', [agent.id]);
    expect(state.last_error).toMatch(/more than 500 resources/);
    expect(await count('SELECT failed + parse AS n FROM `agt$history` WHERE agt_id = ?', [agent.id])).toBeGreaterThan(0);
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
    const [[log]] = await p.env.pool.query<RowDataPacket[]>(
      'SELECT CHAR_LENGTH(l.text) AS n, l.event_type FROM `s$log_events` l JOIN `s$services` s ON s.id = l.serv_id JOIN `h$hosts` h ON h.id = s.host_id WHERE h.name = ?',
      ['hostile-service'],
    );
    expect(log).toEqual({ n: 4096, event_type: 2 });
  });

  // Last: polls the refused agent a second time.
  it('stores the data of an agent refused for new tables once the next poll created the rest', async () => {
    const agent = byName('many-new-types');
    expect(await count("SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'd$fresh%'")).toBe(20);
    // This agent alone: with every hostile agent polled again (parse bombs, a 1 MiB log line, all served by this one
    // process), answers of healthy agents here time out under load (agentTimeout: seen for hostile-service), and a poll timed out creates nothing, for no reason of the feature's. What this case is
    // about: the next answered poll creates the rest and stores everything.
    const calls = agents.get('many-new-types')!.requests.filter((url) => url.startsWith('/all')).length;
    await p.poll(2, [agent.id]);
    expect(agents.get('many-new-types')!.requests.filter((url) => url.startsWith('/all')).length).toBe(calls + 1);
    // The poll's outcome first: a failure names its reason (a timeout, a refusal) instead of only a missing table.
    const [[state]] = await p.env.pool.query<RowDataPacket[]>('SELECT consecutive_failures AS failures, last_error AS error, since FROM `agt$state` WHERE agt_id = ?', [agent.id]);
    expect(state).toEqual({ failures: 0, error: null, since: NOW });
    expect(await count("SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'd$fresh%'")).toBe(25);
    for (let i = 0; i < 25; i++) expect(await count(`SELECT v AS n FROM \`d$fresh_${i}\``)).toBe(i);
  });
});

describe('an agent answering more than --agent-max-response-bytes', () => {
  let p: PipelineHarness;
  let agent: HostileAgent;
  let port: number;

  beforeAll(async () => {
    // Its own pipeline, with an agent timeout far beyond the time the cap takes to reach: polled beside every
    // hostile agent with the 6 s timeout above (bodies parsed by this same process), the 4 MB cap was not always
    // reached before the timeout on a loaded machine, and the case failed on a timeout instead of the refusal it
    // is about. 50 s bounds only a hang (and ends the job before the harness's 60 s wait).
    p = await createPipeline('hostile-cap', { hosts: 1 }, { agentTimeout: '50s', agentMaxResponseBytes: CAP });
    agent = tooLargeAgent();
    port = await agent.start();
    await new AgentRegistry(p.env.pool).add([{ host: '127.0.0.1', port, pollIntervalS: 3600 }]);
  });
  afterAll(async () => {
    await agent?.close();
    await p?.close();
  });

  it('too-large: refused at the cap, recorded with its reason', async () => {
    const registered = (await new AgentRegistry(p.env.pool).list()).find((a) => a.port === port)!;
    await p.poll(1, [registered.id]);
    const refused = (await new AgentRegistry(p.env.pool).list()).find((a) => a.id === registered.id)!;
    expect(refused.lastOk).toBeNull();
    expect(refused.consecutiveFailures).toBe(1);
    expect(refused.lastError).toMatch(/too-large: .*larger than/);
    expect(refused.lastError).toContain(`127.0.0.1:${port}`);
  }, 120_000);
});
