import { extname } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { DEFAULT_AGENT_PORT, validateAgent } from '../agent-registry.js';
import { parseBoolean } from '../config/option-types.js';
import { errorMessage } from '../errors.js';
import { AgentCsvError, parseAgentCsv } from './agent-csv.js';

/** An agent as a discovery source lists it: `pollIntervalS` and `useSsl` undefined when the source does not say. */
export interface ListedAgent {
  host: string;
  port: number;
  pollIntervalS?: number;
  useSsl?: boolean;
  labels: Record<string, string>;
}

/** What is wrong with a list, by line (1-based; 0 when the whole file is at fault). */
export interface AgentListProblem {
  line: number;
  error: string;
}

/** A list file refused as a whole: every problem with its `file:line`. */
export class AgentListError extends Error {
  constructor(
    readonly file: string,
    readonly problems: AgentListProblem[],
  ) {
    super(problems.map((p) => `${file}:${p.line}: ${p.error}`).join('; '));
    this.name = 'AgentListError';
  }
}

/** Splits `HOST[:PORT]`, with `[v6]:PORT` for IPv6 literals (a bare IPv6 literal has no port). */
export function parseHostPort(value: string): { host: string; port?: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (bracketed) return { host: bracketed[1], port: bracketed[2] ? Number(bracketed[2]) : undefined };
  const parts = value.split(':');
  if (parts.length === 2 && /^\d+$/.test(parts[1])) return { host: parts[0], port: Number(parts[1]) };
  return { host: value };
}

/** The key discovery and `c$agents` (case-insensitive host collation) agree on: `host:port`, host lower-cased. */
export function agentKey(agent: { host: string; port: number }): string {
  return `${agent.host.toLowerCase()}:${agent.port}`;
}

type Settings = Pick<ListedAgent, 'pollIntervalS' | 'useSsl'> & { labels: Record<string, string> };

const ENTRY_KEYS = new Set(['host', 'port', 'freq', 'ssl', 'labels', 'targets']);

function settingsOf(entry: Record<string, unknown>, inherited: Settings): Settings {
  const out: Settings = { ...inherited, labels: { ...inherited.labels } };
  if (entry.freq !== undefined) {
    if (typeof entry.freq !== 'number' || !Number.isInteger(entry.freq)) throw new Error(`freq must be whole seconds, got ${JSON.stringify(entry.freq)}`);
    out.pollIntervalS = entry.freq;
  }
  if (entry.ssl !== undefined) {
    const ssl = parseBoolean(entry.ssl);
    if (ssl === undefined) throw new Error(`ssl must be true or false, got ${JSON.stringify(entry.ssl)}`);
    out.useSsl = ssl;
  }
  if (entry.labels !== undefined) {
    if (typeof entry.labels !== 'object' || entry.labels === null || Array.isArray(entry.labels)) throw new Error('labels must be a map of names to values');
    for (const [name, value] of Object.entries(entry.labels)) {
      if (value !== null && typeof value === 'object') throw new Error(`label ${name} must be a plain value`);
      out.labels[name] = String(value);
    }
  }
  return out;
}

/** `host[:port]` (string) plus settings, validated like `watched agents add`. */
function agentOf(address: unknown, port: unknown, settings: Settings): ListedAgent {
  if (typeof address !== 'string' || address.trim() === '') throw new Error(`expected "host[:port]", got ${JSON.stringify(address)}`);
  const split = parseHostPort(address.trim());
  if (port !== undefined && (typeof port !== 'number' || split.port !== undefined)) {
    throw new Error(split.port !== undefined ? `${address} has a port already` : `port must be a number, got ${JSON.stringify(port)}`);
  }
  const valid = validateAgent({ host: split.host, port: (port as number | undefined) ?? split.port ?? DEFAULT_AGENT_PORT, pollIntervalS: settings.pollIntervalS, useSsl: settings.useSsl });
  return { host: valid.host, port: valid.port, pollIntervalS: settings.pollIntervalS, useSsl: settings.useSsl, labels: settings.labels };
}

/** The entries of a list, each with its line (0 when unknown), validated; any problem refuses the list. */
function agentsOf(file: string, items: ReadonlyArray<{ value: unknown; line: number }>): ListedAgent[] {
  const problems: AgentListProblem[] = [];
  const agents: ListedAgent[] = [];
  const none: Settings = { labels: {} };
  const seen = new Map<string, number>();
  const add = (agent: ListedAgent, line: number) => {
    const first = seen.get(agentKey(agent));
    if (first !== undefined) throw new Error(`${agent.host}:${agent.port} is already on line ${first}`);
    seen.set(agentKey(agent), line);
    agents.push(agent);
  };
  for (const { value, line } of items) {
    try {
      if (typeof value === 'string') {
        add(agentOf(value, undefined, none), line);
        continue;
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`expected "host[:port]" or a map, got ${JSON.stringify(value)}`);
      const entry = value as Record<string, unknown>;
      const unknown = Object.keys(entry).filter((k) => !ENTRY_KEYS.has(k));
      if (unknown.length) throw new Error(`unknown key(s) ${unknown.join(', ')} (expected ${[...ENTRY_KEYS].join(', ')})`);
      const settings = settingsOf(entry, none);
      if (entry.targets !== undefined) {
        if (entry.host !== undefined || entry.port !== undefined) throw new Error('a group has targets, not host or port');
        if (!Array.isArray(entry.targets)) throw new Error('targets must be a list of "host[:port]"');
        for (const target of entry.targets) add(agentOf(target, undefined, settings), line);
      } else add(agentOf(entry.host, entry.port, settings), line);
    } catch (err) {
      problems.push({ line, error: errorMessage(err) });
    }
  }
  if (problems.length) throw new AgentListError(file, problems);
  return agents;
}

/**
 * Reads a YAML or JSON agent list (JSON is read as YAML, which it is, so
 * both report lines). The document is a list, or a map with an `agents`
 * list; each entry is `"host[:port]"`, a map `{host, port?, freq?, ssl?,
 * labels?}`, or a group `{targets: ["host[:port]", ...], freq?, ssl?,
 * labels?}` (Prometheus' file_sd shape) whose settings apply to each target.
 */
function parseYamlList(file: string, text: string): ListedAgent[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const problems: AgentListProblem[] = doc.errors.map((e) => ({ line: e.linePos?.[0].line ?? 0, error: e.message.split('\n')[0] }));
  if (problems.length) throw new AgentListError(file, problems);
  const lineOf = (node: Node | null | undefined): number => (node?.range ? lines.linePos(node.range[0]).line : 0);

  let list: Node | null = doc.contents;
  if (isMap(list)) {
    const agents = list.get('agents', true) as Node | undefined;
    if (!agents) throw new AgentListError(file, [{ line: lineOf(list), error: 'expected a list of agents, or a map with an agents list' }]);
    list = agents;
  }
  if (list === null || (isScalar(list) && list.value === null)) return []; // an empty file lists no agent
  if (!isSeq(list)) throw new AgentListError(file, [{ line: lineOf(list), error: 'expected a list of agents' }]);

  return agentsOf(file, (list.items as Node[]).map((item) => ({ value: item.toJSON() as unknown, line: lineOf(item) })));
}

function parseCsvList(file: string, text: string): ListedAgent[] {
  try {
    const csv = parseAgentCsv(text);
    if (csv.bad.length) throw new AgentListError(file, csv.bad);
    return csv.agents.map(({ host, port, pollIntervalS, useSsl }) => ({ host, port, pollIntervalS, useSsl, labels: {} }));
  } catch (err) {
    if (err instanceof AgentCsvError) throw new AgentListError(file, [{ line: Number(/^line (\d+)/.exec(err.message)?.[1] ?? 0), error: err.message.replace(/^line \d+: /, '') }]);
    throw err;
  }
}

/**
 * Reads an agent list file by its extension: `.csv` (the columns of
 * `watched agents import`), anything else YAML or JSON. Any problem refuses
 * the whole file (AgentListError, each problem with its line): applying the
 * rest would retire the agents of the broken lines. A host:port listed twice
 * is a problem of its second line.
 */
export function parseAgentList(file: string, text: string): ListedAgent[] {
  const extension = extname(file).toLowerCase();
  if (extension === '.csv') return parseCsvList(file, text);
  if (extension === '.json') {
    // JSON.parse is ten times quicker than a YAML document with positions (10,000 agents: ~50 ms against ~800 ms);
    // the positions are worth it only to say where a problem is, so a problem sends the text through the YAML reader.
    try {
      const value = JSON.parse(text) as unknown;
      const list = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>).agents : value;
      if (Array.isArray(list)) return agentsOf(file, list.map((entry: unknown) => ({ value: entry, line: 0 })));
    } catch {
      // fall through: the YAML reader finds the problems again, with their lines
    }
  }
  return parseYamlList(file, text);
}
