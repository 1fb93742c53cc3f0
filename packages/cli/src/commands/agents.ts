import { readFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { AgentCsvError, AgentRegistry, DEFAULT_AGENT_PORT, DEFAULT_POLL_INTERVAL_S, errorMessage, parseAgentCsv, parseHostPort, type RegisteredAgent } from '@watched/core';
import { pollLaneOf } from '../agent-lane-view.js';
import { commandGroup, withMysql } from '../options.js';
import { Progress } from '../progress.js';

function withRegistry<T>(argv: Record<string, unknown>, work: (registry: AgentRegistry) => Promise<T>): Promise<T> {
  return withMysql(argv, (pool) => work(new AgentRegistry(pool)));
}

function span(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 120 ? `${seconds}s` : seconds < 7200 ? `${Math.round(seconds / 60)}m` : `${Math.round(seconds / 3600)}h`;
}

function age(ms: number | null): string {
  return ms === null ? 'never' : `${span(Date.now() - ms)} ago`;
}

/** How the last poll went: `ok`, `failed` (n in a row), or null before the first poll. */
function lastResult(a: RegisteredAgent): string | null {
  if (a.lastPoll === null) return null;
  return a.consecutiveFailures > 0 ? 'failed' : 'ok';
}

/** When a backed-off agent is retried next: `in 40s`, `due` (its retry is under way or next), `-` on the normal schedule. */
function nextRetry(a: RegisteredAgent, now: number): string {
  if (a.slowPolls === 0 || a.retryAt === null) return '-';
  return a.retryAt > now ? `in ${span(a.retryAt - now)}` : 'due';
}

/** Age of the newest data stored for the agent (now - its cursor); null before its first good poll. */
function lagMs(a: RegisteredAgent, now: number): number | null {
  return a.since === null ? null : Math.max(0, now - a.since);
}

const add: CommandModule<object, { host: string; port: number; freq: number; ssl: boolean }> = {
  command: 'add <host>',
  describe: 'Register an agent in c$agents',
  builder: (yargs) =>
    yargs
      .positional('host', { type: 'string', demandOption: true, describe: 'agent host name or address' })
      .option('port', { type: 'number', default: DEFAULT_AGENT_PORT, describe: 'agent port' })
      .option('freq', { type: 'number', default: DEFAULT_POLL_INTERVAL_S, describe: 'poll interval in seconds' })
      .option('ssl', { type: 'boolean', default: false, describe: 'poll over HTTPS' }),
  handler: async (argv) => {
    const added = await withRegistry(argv, (r) =>
      r.add([{ host: argv.host, port: argv.port, pollIntervalS: argv.freq, useSsl: argv.ssl }]),
    );
    console.log(added ? `added ${argv.host}:${argv.port}` : `${argv.host}:${argv.port} is already registered`);
  },
};

const list: CommandModule<object, { json: boolean }> = {
  command: 'list',
  describe: 'List registered agents and how their last polls went',
  builder: (yargs) => yargs.option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
  handler: async (argv) => {
    const now = Date.now();
    const agents = (await withRegistry(argv, (r) => r.list())).map((a) => ({
      ...a,
      lastResult: lastResult(a),
      lagMs: lagMs(a, now),
      pollLane: pollLaneOf(a, now),
    }));
    if (argv.json) {
      console.log(JSON.stringify(agents, null, 2));
      return;
    }
    console.log(['ID', 'AGENT', 'FREQ', 'SSL', 'SOURCE', 'LAST POLL', 'RESULT', 'LAG', 'LAST OK', 'FAILURES', 'POLLED', 'NEXT RETRY', 'LAST ERROR'].join('\t'));
    for (const a of agents) {
      console.log(
        [
          a.id, `${a.host}:${a.port}`, `${a.pollIntervalS}s`, a.useSsl ? 'yes' : 'no', a.retiredAt === null ? a.origin : `retired ${age(a.retiredAt)} (${a.origin})`, age(a.lastPoll), a.lastResult ?? '-',
          a.lagMs === null ? '-' : span(a.lagMs), age(a.lastOk), a.consecutiveFailures, a.pollLane, nextRetry(a, now), a.lastError ?? '',
        ].join('\t'),
      );
    }
  },
};

const importCsv: CommandModule<object, { file: string }> = {
  command: 'import <file>',
  describe: 'Register or update the agents of a CSV file: header host,port[,pool_freq][,use_ssl]; bad rows are reported by line, the others imported',
  builder: (yargs) => yargs.positional('file', { type: 'string', demandOption: true, describe: 'CSV file' }),
  handler: async (argv) => {
    let text: string;
    try {
      text = readFileSync(argv.file, 'utf8');
    } catch (err) {
      console.error(`watched: cannot read ${argv.file}: ${errorMessage(err)}`);
      process.exitCode = 2;
      return;
    }
    let csv: ReturnType<typeof parseAgentCsv>;
    try {
      csv = parseAgentCsv(text);
    } catch (err) {
      if (!(err instanceof AgentCsvError)) throw err;
      console.error(`watched: ${argv.file}: ${err.message}`);
      process.exitCode = 2;
      return;
    }
    for (const b of csv.bad) console.error(`${argv.file}:${b.line}: ${b.error}`);
    const progress = new Progress('importing agents', csv.agents.length, { unit: 'agents' });
    const counts = await withRegistry(argv, (r) => r.upsert(csv.agents, (done) => progress.update(done))).finally(() => progress.stop());
    console.log(
      `${argv.file}: ${counts.added} added, ${counts.updated} updated, ${counts.unchanged} unchanged, ${csv.bad.length} bad row(s) skipped`,
    );
    // Bad rows make the command fail (scripts notice) even though the good ones are in.
    if (csv.bad.length) process.exitCode = 1;
  },
};

const remove: CommandModule<object, { agent: string }> = {
  command: 'remove <agent>',
  describe: 'Unregister HOST (every port) or HOST:PORT',
  builder: (yargs) => yargs.positional('agent', { type: 'string', demandOption: true, describe: 'HOST or HOST:PORT' }),
  handler: async (argv) => {
    const { host, port } = parseHostPort(argv.agent);
    const removed = await withRegistry(argv, (r) => r.remove(host, port));
    console.log(removed ? `removed ${removed} agent(s)` : `no agent matches ${argv.agent}`);
    if (!removed) process.exitCode = 1;
  },
};

export const agentsCommand = commandGroup('agents', 'Manage the agents to poll (c$agents)', [
  add as CommandModule<object, never>,
  list as CommandModule<object, never>,
  importCsv as CommandModule<object, never>,
  remove as CommandModule<object, never>,
]);
