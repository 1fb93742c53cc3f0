import type { CommandModule } from 'yargs';
import { AgentRegistry } from '@watched/core';
import { commandGroup, withMysql } from '../options.js';

function withRegistry<T>(argv: Record<string, unknown>, work: (registry: AgentRegistry) => Promise<T>): Promise<T> {
  return withMysql(argv, (pool) => work(new AgentRegistry(pool)));
}

function age(ms: number | null): string {
  if (ms === null) return 'never';
  const seconds = Math.round((Date.now() - ms) / 1000);
  return seconds < 120 ? `${seconds}s ago` : seconds < 7200 ? `${Math.round(seconds / 60)}m ago` : `${Math.round(seconds / 3600)}h ago`;
}

/** Splits `HOST[:PORT]`, with `[v6]:PORT` for IPv6 literals. */
export function parseHostPort(value: string): { host: string; port?: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (bracketed) return { host: bracketed[1], port: bracketed[2] ? Number(bracketed[2]) : undefined };
  const parts = value.split(':');
  if (parts.length === 2 && /^\d+$/.test(parts[1])) return { host: parts[0], port: Number(parts[1]) };
  return { host: value };
}

const add: CommandModule<object, { host: string; port: number; freq: number; ssl: boolean }> = {
  command: 'add <host>',
  describe: 'Register an agent in c$agents',
  builder: (yargs) =>
    yargs
      .positional('host', { type: 'string', demandOption: true, describe: 'agent host name or address' })
      .option('port', { type: 'number', default: 9080, describe: 'agent port' })
      .option('freq', { type: 'number', default: 300, describe: 'poll interval in seconds' })
      .option('ssl', { type: 'boolean', default: false, describe: 'poll over HTTPS' }),
  handler: async (argv) => {
    const added = await withRegistry(argv, (r) =>
      r.add([{ host: argv.host, port: argv.port, frequency: argv.freq, useSsl: argv.ssl }]),
    );
    console.log(added ? `added ${argv.host}:${argv.port}` : `${argv.host}:${argv.port} is already registered`);
  },
};

const list: CommandModule<object, { json: boolean }> = {
  command: 'list',
  describe: 'List registered agents and how their last polls went',
  builder: (yargs) => yargs.option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
  handler: async (argv) => {
    const agents = await withRegistry(argv, (r) => r.list());
    if (argv.json) {
      console.log(JSON.stringify(agents, null, 2));
      return;
    }
    console.log(['ID', 'AGENT', 'FREQ', 'SSL', 'LAST POLL', 'LAST OK', 'FAILURES', 'LAST ERROR'].join('\t'));
    for (const a of agents) {
      console.log(
        [a.id, `${a.host}:${a.port}`, `${a.frequency}s`, a.useSsl ? 'yes' : 'no', age(a.lastPoll), age(a.lastOk), a.consecutiveFailures, a.lastError ?? ''].join('\t'),
      );
    }
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
  remove as CommandModule<object, never>,
]);
