import { parse } from 'csv-parse/sync';
import { validateAgent, type NewAgent } from '../agent-registry.js';
import { parseBoolean } from '../config/option-types.js';
import { errorMessage } from '../errors.js';

/** Columns of an agents CSV file (header row required; `pool_freq` and `use_ssl` optional). */
export const AGENT_CSV_COLUMNS = ['host', 'port', 'pool_freq', 'use_ssl'] as const;
type Column = (typeof AGENT_CSV_COLUMNS)[number];

/** A row that cannot be imported, by its line in the file (1 = the header). */
export interface BadAgentRow {
  line: number;
  error: string;
}

export interface AgentCsv {
  /** Valid rows, validated like `watched agents add`, each with its line; `pollIntervalS` and `useSsl` are undefined where the row leaves them empty. */
  agents: Array<NewAgent & { port: number; line: number }>;
  bad: BadAgentRow[];
}

/** Thrown when the file as a whole is unusable (no header, unknown or missing columns). */
export class AgentCsvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentCsvError';
  }
}

/** CSV exports also spell booleans y/n, and leave the column empty for no. */
const CSV_WORDS: Record<string, string> = { y: 'yes', n: 'no', '': 'no' };

function integerField(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`${name} must be a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

function booleanField(name: string, value: string | undefined): boolean {
  const v = (value ?? '').toLowerCase();
  const flag = parseBoolean(CSV_WORDS[v] ?? v);
  if (flag !== undefined) return flag;
  throw new Error(`${name} must be true/false, 1/0 or yes/no, got ${JSON.stringify(value)}`);
}

/**
 * Reads an agents CSV (`host,port[,pool_freq][,use_ssl]` with a header row,
 * columns in any order). Every data row is validated on its own: a bad row,
 * including one the CSV parser cannot read, is reported with its line number
 * and the others are kept. A host:port listed twice keeps its first line.
 */
export function parseAgentCsv(text: string): AgentCsv {
  const bad: BadAgentRow[] = [];
  const records = parse(text, {
    info: true,
    trim: true,
    bom: true,
    skip_empty_lines: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_records_with_error: true,
    on_skip: (err) => {
      const line = Number((err as { lines?: unknown } | undefined)?.lines ?? 0);
      if (!bad.some((b) => b.line === line)) bad.push({ line, error: `unreadable CSV: ${err?.message ?? 'malformed record'}` });
      return undefined;
    },
  }) as unknown as Array<{ info: { lines: number }; record: string[] }>;

  const [header, ...rows] = records;
  if (!header) throw new AgentCsvError('the file is empty: expected a header row host,port[,pool_freq][,use_ssl]');
  const columns = header.record.map((name) => name.toLowerCase());
  const unknown = columns.filter((c) => !(AGENT_CSV_COLUMNS as readonly string[]).includes(c));
  if (unknown.length) {
    throw new AgentCsvError(`line ${header.info.lines}: unknown column(s) ${unknown.join(', ')} (expected ${AGENT_CSV_COLUMNS.join(', ')})`);
  }
  for (const required of ['host', 'port'] as const) {
    if (!columns.includes(required)) throw new AgentCsvError(`line ${header.info.lines}: the header has no ${required} column`);
  }
  const index = new Map(columns.map((c, i) => [c as Column, i]));

  const agents: AgentCsv['agents'] = [];
  const seen = new Map<string, number>();
  for (const { info, record } of rows) {
    const line = info.lines;
    try {
      if (record.length !== columns.length) throw new Error(`expected ${columns.length} fields, got ${record.length}`);
      const field = (c: Column) => (index.has(c) ? record[index.get(c)!] : undefined);
      const port = integerField('port', field('port'));
      if (port === undefined) throw new Error('port is empty');
      const pollIntervalS = integerField('pool_freq', field('pool_freq'));
      const ssl = field('use_ssl');
      const agent = validateAgent({ host: field('host') ?? '', port, pollIntervalS, useSsl: booleanField('use_ssl', ssl) });
      const key = `${agent.host.toLowerCase()}:${agent.port}`;
      const first = seen.get(key);
      if (first !== undefined) throw new Error(`${agent.host}:${agent.port} is already on line ${first}`);
      seen.set(key, line);
      agents.push({ host: agent.host, port: agent.port, pollIntervalS, useSsl: ssl === undefined || ssl === '' ? undefined : agent.useSsl, line });
    } catch (err) {
      bad.push({ line, error: errorMessage(err) });
    }
  }
  bad.sort((a, b) => a.line - b.line);
  return { agents, bad };
}
