#!/usr/bin/env node
// Scenario `discovery`: one discovery pass of the coordinator's leader over a
// file source listing N agents (default 10,000), against MySQL, timed per
// kind of pass:
//   - first: every agent new (parse the YAML file, check c$agents for agents
//     registered by hand, insert agents and ownership rows, fenced);
//   - steady: nothing changed (re-read the file if it changed, read the owned
//     rows, compare): what every interval costs;
//   - churn: 1 % of the agents replaced (added, dropped);
//   - retire: the dropped 1 % retired after the grace period;
//   - mass drop and mass retirement: the file emptied (every agent dropped,
//     then every agent retired in the pass after the grace period);
//   - the scheduler's read of the retired set (with every agent retired).
// Each figure is compared with the coordinator's default tick interval (1 s):
// a pass runs in its own task, never inside a tick, but one that fits a tick
// never delays anything.
// Usage: npm run bench -- discovery [--agents=10000] [--steadyPasses=5] [--format=json|yaml|csv]
// Needs: npm run build. Bounded: ~10-30 s on 2 cores.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Discovery, parseCoordinatorOptions, RetiredAgents } from '@watched/coordinator';
import { createLogger, TermStore } from '@watched/core';
import { scratchDatabase } from './lib/mysql-data.mjs';
import { loadAverage, machineInfo, parseFlags, printTable, writeResult } from './lib/report.mjs';
import { percentile } from './lib/stats.mjs';

const DEFAULTS = { agents: 10000, steadyPasses: 5, format: 'json' };
const usage = `usage: npm run bench -- discovery ${Object.entries(DEFAULTS).map(([k, v]) => `[--${k}=${v}]`).join(' ')}`;
const { agents, steadyPasses, format } = parseFlags(process.argv.slice(2), DEFAULTS, usage);
const TICK_MS = parseCoordinatorOptions({}).tickIntervalMs;
const GRACE_MS = 60_000;

const db = await scratchDatabase('discovery', 4);
const machine = await machineInfo(db.pool);
const dir = mkdtempSync(join(tmpdir(), 'watched-bench-discovery-'));
const file = join(dir, `agents.${format}`);
const address = (i) => `10.${64 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}`;
const list = (from, to) => {
  const hosts = Array.from({ length: to - from }, (_, k) => `${address(from + k)}:9080`);
  if (format === 'json') return JSON.stringify(hosts);
  if (format === 'csv') return `host,port\n${hosts.map((h) => h.replace(':', ',')).join('\n')}\n`;
  return hosts.map((h) => `- ${h}\n`).join('');
};
const logger = createLogger({ level: 'warn', format: 'json' });
const leaseName = 'bench:leader';
const term = 1;
await new TermStore(db.pool, leaseName).record(term, 'bench');
const lease = { term, isLeader: () => true };
const discovery = new Discovery(db.pool, leaseName, parseCoordinatorOptions({ discoveryFile: [file], discoveryGrace: `${GRACE_MS / 1000}s` }).discovery, logger, undefined, () => undefined);

const rows = [];
const results = {};
let clock = Date.now();
async function timed(name, write) {
  if (write) write();
  const started = performance.now();
  const result = await discovery.pass(lease, clock);
  const ms = performance.now() - started;
  const changes = { added: result.added, dropped: result.dropped, retired: result.retired, revived: result.revived };
  results[name] = { ms: Math.round(ms), ...changes, load: loadAverage() };
  rows.push([name, Math.round(ms), `${(ms / TICK_MS).toFixed(2)}`, result.added, result.dropped, result.retired, results[name].load]);
  return ms;
}

try {
  const churn = Math.max(1, Math.round(agents / 100));
  await timed('first (all new)', () => writeFileSync(file, list(0, agents)));
  const steady = [];
  for (let i = 0; i < steadyPasses; i += 1) {
    clock += 1000;
    const started = performance.now();
    await discovery.pass(lease, clock);
    steady.push(performance.now() - started);
  }
  const median = percentile([...steady].sort((a, b) => a - b), 50);
  results.steady = { ms: Math.round(median), passes: steadyPasses, maxMs: Math.round(Math.max(...steady)), load: loadAverage() };
  rows.push([`steady (median of ${steadyPasses})`, Math.round(median), (median / TICK_MS).toFixed(2), 0, 0, 0, results.steady.load]);
  clock += 1000;
  await timed(`churn (${churn} out, ${churn} in)`, () => writeFileSync(file, list(churn, agents + churn)));
  clock += GRACE_MS + 1000;
  await timed(`retire (${churn})`);
  clock += 1000;
  await timed(`mass drop (${agents})`, () => writeFileSync(file, format === 'csv' ? 'host,port\n' : '[]\n'));
  clock += GRACE_MS + 1000;
  await timed('mass retirement');
  const retired = new RetiredAgents(db.pool);
  const started = performance.now();
  await retired.refresh();
  const retiredMs = performance.now() - started;
  results.retiredSetRead = { ms: Math.round(retiredMs * 10) / 10, load: loadAverage() };
  rows.push(['scheduler: read the retired set', Math.round(retiredMs), (retiredMs / TICK_MS).toFixed(2), '', '', '', results.retiredSetRead.load]);

  printTable(`discovery: passes over a ${format} file source of ${agents.toLocaleString('en-US')} agents (tick interval ${TICK_MS} ms)`, ['pass', 'ms', 'ticks', 'added', 'dropped', 'retired', 'load'], rows);
  console.log(`\nresult: ${writeResult('discovery', { machine, parameters: { agents, steadyPasses, format, tickIntervalMs: TICK_MS }, results })}`);
} finally {
  discovery.close();
  rmSync(dir, { recursive: true, force: true });
  await db.drop();
}
