/**
 * What one agent may make one worker hold or create, and how the defaults
 * follow from the worker's memory and concurrency (docs/agent-limits.md has
 * the arithmetic). Past a limit the agent's poll is refused with a reason
 * that names the limit and its option; the other agents are untouched.
 */
export interface AgentLimits {
  /** Resources (`/history` paths) one discovery document may declare. */
  readonly maxResources: number;
  /** Metric values (rows x properties) in one `/all` answer. */
  readonly maxValues: number;
  /** Rows of every kind (metric rows, log lines, processes, sockets) in one answer. */
  readonly maxRows: number;
  /** Log lines in one answer. */
  readonly maxLogLines: number;
  /** Distinct names (hosts, services, service types, resources, processes, sockets) in one answer. */
  readonly maxNames: number;
  /** Estimated memory of the parsed JSON of one answer, in bytes (see estimateParsedBytes). */
  readonly maxParsedBytes: number;
  /** Estimated memory of what is prepared from one answer (COST_BYTES), held until it is written. */
  readonly maxPreparedBytes: number;
  /** New `d$` tables (each with 3 rollup tables) one poll may create; the rest wait for the next polls. */
  readonly maxNewDataTables: number;
}

/** The option each limit is set by, named in refusals so an operator knows what to raise. */
export const LIMIT_OPTIONS: Record<keyof AgentLimits, string> = {
  maxResources: '--agent-max-resources',
  maxValues: '--agent-max-values',
  maxRows: '--agent-max-rows',
  maxLogLines: '--agent-max-log-lines',
  maxNames: '--agent-max-names',
  maxParsedBytes: '--worker-memory',
  maxPreparedBytes: '--worker-memory',
  maxNewDataTables: '--agent-max-new-data-tables',
};

/** Memory a worker needs besides its agents in flight: runtime, code, pools, bounded caches (measured ~150 MB idle). */
export const WORKER_BASE_BYTES = 256 * 1024 * 1024;

/**
 * Memory per unit once an answer is prepared (measured, rounded up): a
 * metric value is a slot of a row array plus its SQL text; a row adds its
 * array and keys; a resource its catalog entry, inventory ids and links; a
 * log line its entry and keys, plus 2 bytes per character of its text
 * (`logChar`, up to 4,096 a line).
 */
export const COST_BYTES = { value: 32, row: 96, resource: 2048, logLine: 256, logChar: 2 } as const;

/** The share of one agent in flight: (memory - base) / (jobs at once x agents per job). */
export function agentShareBytes(workerMemoryBytes: number, workerConcurrency: number, agentConcurrency: number): number {
  return Math.max(0, workerMemoryBytes - WORKER_BASE_BYTES) / (workerConcurrency * agentConcurrency);
}

/**
 * Defaults that keep a worker within `workerMemoryBytes` whatever its
 * agents send, from the share S of one agent in flight (docs/agent-limits.md):
 * - the download: got's body buffer and the decoded string, twice the
 *   response, so the response cap is S/6 (S/3 held);
 * - JSON.parse: that and the parsed tree, at most 2S/3 by the estimate
 *   (together S);
 * - reading the tree into a snapshot and preparing rows: the tree and what is
 *   built (values, rows, resources, log lines at COST_BYTES), at most S/3
 *   together (together S); once read, the tree is garbage.
 * Each count limit alone is what S/3 allows of its kind; maxPreparedBytes
 * bounds their sum.
 */
export function defaultAgentLimits(share: number): AgentLimits & { maxResponseBytes: number } {
  const prepared = Math.max(1024 * 1024, Math.floor(share / 3));
  return {
    maxResponseBytes: clamp(Math.floor(share / 6), 256 * 1024, 32 * 1024 * 1024),
    maxParsedBytes: Math.max(2 * 1024 * 1024, Math.floor((share * 2) / 3)),
    maxPreparedBytes: prepared,
    maxValues: Math.floor(prepared / COST_BYTES.value),
    maxRows: Math.floor(prepared / COST_BYTES.row),
    maxResources: Math.floor(prepared / COST_BYTES.resource),
    maxNames: Math.floor(prepared / COST_BYTES.resource),
    maxLogLines: Math.floor(prepared / COST_BYTES.logLine),
    maxNewDataTables: 20,
  };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/**
 * The most estimateParsedBytes counts for one character of text: a `{` or
 * `[` (a container and an element, 48 + 16) plus the character itself (2
 * bytes at most). A text of `n` characters estimates at most `n` times this.
 */
export const MAX_PARSED_BYTES_PER_CHAR = 48 + 16 + 2;

/**
 * Whether the text's estimate (estimateParsedBytes) stays within
 * `maxBytes`. A text too short to reach it whatever its characters
 * (MAX_PARSED_BYTES_PER_CHAR) is not scanned: the same answer as the
 * scan's, without a loop over every character of every answer.
 */
export function parsedBytesWithin(text: string, maxBytes: number): boolean {
  return text.length * MAX_PARSED_BYTES_PER_CHAR <= maxBytes || estimateParsedBytes(text) <= maxBytes;
}

/**
 * An upper estimate of the heap JSON.parse would use for `text`, read in
 * one pass before parsing: every object or array costs at most ~48 bytes,
 * every element or member at most 16 (a pointer and a heap number), every
 * string (keys included, though V8 shares repeated keys) 40 for its header and
 * its slot in a dictionary, and the text 1 byte a character (2 when one is
 * beyond Latin-1, as V8 stores them). Measured worst shapes (a million
 * `{}`, `[]` or small numbers) stay under it.
 */
export function estimateParsedBytes(text: string): number {
  let containers = 0;
  let elements = 0;
  let strings = 0;
  let inString = false;
  let twoByte = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) twoByte = true;
    if (inString) {
      if (c === 0x5c) i += 1; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
      strings += 1;
    }
    else if (c === 0x7b || c === 0x5b) containers += 1; // { [
    else if (c === 0x2c || c === 0x3a) elements += 1; // , :
  }
  return containers * 48 + (elements + containers) * 16 + strings * 40 + text.length * (twoByte ? 2 : 1);
}

/**
 * Counts what one answer holds as it is read and says, once, which limit it
 * went past. Reading stops there: nothing more of that answer is kept.
 */
export class LimitCounter {
  private readonly counts = { values: 0, rows: 0, logLines: 0, resources: 0, logChars: 0 };
  private readonly names = new Set<string>();
  /** The first limit exceeded, as the reason the poll is refused. */
  exceeded?: string;

  constructor(private readonly limits: AgentLimits) {}

  /** Adds `n` of a kind; false once any limit is exceeded. */
  add(kind: 'values' | 'rows' | 'logLines' | 'resources' | 'logChars', n = 1): boolean {
    if (this.exceeded) return false;
    this.counts[kind] += n;
    if (kind === 'logLines') this.counts.rows += n;
    const c = this.counts;
    const cost =
      c.values * COST_BYTES.value + c.rows * COST_BYTES.row + c.resources * COST_BYTES.resource + c.logLines * COST_BYTES.logLine + c.logChars * COST_BYTES.logChar;
    if (this.counts.values > this.limits.maxValues) this.refuse('maxValues', `more than ${this.limits.maxValues} metric values`);
    else if (this.counts.logLines > this.limits.maxLogLines) this.refuse('maxLogLines', `more than ${this.limits.maxLogLines} log lines`);
    else if (this.counts.rows > this.limits.maxRows) this.refuse('maxRows', `more than ${this.limits.maxRows} rows`);
    else if (cost > this.limits.maxPreparedBytes) {
      this.refuse('maxPreparedBytes', `data that would take more than ${mib(this.limits.maxPreparedBytes)} to prepare (${c.values} values, ${c.rows} rows, ${c.resources} resources, ${c.logLines} log lines so far)`);
    }
    return !this.exceeded;
  }

  /** Counts a distinct name (`kind:name`); false once any limit is exceeded. */
  name(kind: string, name: string): boolean {
    if (this.exceeded) return false;
    this.names.add(`${kind}\n${name}`);
    if (this.names.size > this.limits.maxNames) this.refuse('maxNames', `more than ${this.limits.maxNames} distinct names`);
    return !this.exceeded;
  }

  private refuse(limit: keyof AgentLimits, what: string): void {
    this.exceeded = limitReason(what, limit);
  }
}

/** `sent more than 500 log lines in one answer (limit --agent-max-log-lines)`. */
export function limitReason(what: string, limit: keyof AgentLimits): string {
  return `sent ${what} in one answer (limit ${LIMIT_OPTIONS[limit]})`;
}

/** `6.0 MiB`. */
export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
