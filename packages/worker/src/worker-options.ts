import type { SecureVersion } from 'node:tls';
import { z } from 'zod';
import type { WriteMethod } from './row-writer.js';
import { alertLogLevelOption, boolean, ConfigError, duration, filePath, integer, parseOptions, roleOptionsShape, stripUndefined, TLS_VERSIONS } from '@watched/core';
import { agentShareBytes, COST_BYTES, defaultAgentLimits, type AgentLimits } from './ingest/limits.js';

/** A count limit whose default follows from --worker-memory and the concurrency (docs/agent-limits.md). */
function derivedLimit(min: number, what: string) {
  return z.coerce.number().int().min(min).max(Number.MAX_SAFE_INTEGER).optional().describe(`${what} (default: derived from --worker-memory and the concurrency)`);
}

/**
 * Raw options of the worker role, keyed by flag name (`--worker-concurrency`,
 * env `WATCHED_WORKER_CONCURRENCY`); each one's description is its
 * `.describe()`, which --help, docs and the config-file check read. Nothing
 * but compileWorkerOptions reads these.
 */
export const workerOptionsShape = {
  ...roleOptionsShape,
  /** Poll jobs processed at once by one worker process. */
  workerConcurrency: integer(4, 1, 256).describe('poll jobs processed at once by one worker'),
  agentConcurrency: integer(16, 1, 1024).describe('agents of one job polled in parallel'),
  agentConnectTimeout: duration('5s').describe('connect timeout per agent call (e.g. 5s)'),
  agentTimeout: duration('30s').describe('total timeout per agent call (e.g. 30s)'),
  // Below 1, so a job ends before its group's next slot and backpressure never skips healthy agents.
  jobDeadlineShare: z.coerce
    .number()
    .gt(0)
    .lt(1)
    .default(0.5)
    .describe('share of its group\'s poll interval a job waits for agents; those not answered by then are timed out for that round (0 < x < 1)'),
  // A hanging agent then holds no concurrency slot past this: it never serialises the other agents of its job.
  agentSlowAfter: duration('2s').describe('an agent call running longer than this stops counting against --agent-concurrency'),
  agentBackoffMax: duration('10m').describe('longest wait between retries of an agent that keeps timing out (backed off from its interval, with jitter)'),
  slowLaneConcurrency: integer(256, 1, 100_000).describe('calls to slow or backed-off agents in flight at once per worker, outside the jobs'),
  // Larger responses are cut off and count as an error for that agent.
  agentMaxResponseBytes: derivedLimit(1024, 'largest agent response accepted, in bytes'),
  // The pod's memory limit (deploy/kubernetes/worker.yaml): every per-agent default is a share of it.
  workerMemory: integer(1024 * 1024 * 1024, 64 * 1024 * 1024).describe('memory one worker may use, in bytes (its pod limit); the agent limits derive from it'),
  agentMaxResources: derivedLimit(1, 'resources one agent discovery document may declare'),
  agentMaxValues: derivedLimit(1, 'metric values one agent answer may carry'),
  agentMaxRows: derivedLimit(1, 'rows (metric, log, process, socket) one agent answer may carry'),
  agentMaxLogLines: derivedLimit(1, 'log lines one agent answer may carry'),
  agentMaxNames: derivedLimit(1, 'distinct host, service, resource, process and socket names in one agent answer'),
  agentMaxNewDataTables: integer(20, 1, 10_000).describe('new data types (d$ tables, each with 3 rollup tables) one poll may create; past it the poll fails, its cursor kept, and later polls create the rest'),
  maxDataTables: integer(1000, 1, 100_000).describe('d$ tables the installation may hold; a new data type past it fails the poll of the agent sending it'),
  agentTlsCa: filePath('CA bundle (PEM) that signs the certificates of agents with use_ssl (default: system CAs)'),
  agentTlsCert: filePath('client certificate (PEM) presented to agents with use_ssl (mTLS)'),
  // A file only, so the key never sits in the environment.
  agentTlsKey: filePath('key (PEM) of the agent client certificate'),
  agentTlsMinVersion: z.enum(TLS_VERSIONS).default('TLSv1.2').describe('lowest TLS version accepted from agents: TLSv1.2 or TLSv1.3'),
  discoveryRefresh: duration('1h', { zeroMeans: 'fetch discovery on every poll' }).describe('how long an agent discovery document is trusted (e.g. 1h)'),
  // LOAD DATA needs local_infile on the server; refused, the worker logs it once and uses INSERTs.
  writeMethod: z
    .enum(['load-data', 'insert'])
    .default('load-data')
    .describe('how d$ rows and log lines are written: load-data (LOAD DATA LOCAL INFILE, INSERT when refused) or insert'),
  insertBatchRows: integer(1000, 1, 100_000).describe('rows per multi-row INSERT'),
  // One commit instead of one per agent; an agent's rows and cursor are never split.
  writeBatchRows: integer(20_000, 1, 1_000_000).describe('rows of several agents written in one transaction'),
  // So rules edited in the front apply without a restart.
  rulesRefresh: duration('30s', { zeroMeans: 're-read before every poll' }).describe('how often threshold rules (h$/s$event_factory) are re-read'),
  agentFailureThreshold: integer(3, 1, 1000).describe('consecutive failed polls that open an agent-failed event'),
  // Without an alerter running, leave this off or the queue only grows.
  publishAlerts: boolean(true).describe('hand opened/closed events to the alerter queue (off: only log them)'),
  alertLogLevel: alertLogLevelOption,
  // Upstream's front calls process/socket rows older than 900 s missing: the same default.
  missingAfter: duration('15m').describe('how long a host or service may go unreported before a missing event opens'),
  // V8's default lets a busy worker's heap grow to several times its live data (heap-growth.ts).
  heapGrowthPercent: integer(30, 0, 400).describe("how far the heap may grow past its live data between full GCs, in percent (0: V8's default)"),
  // Jobs still running then fail with a retry, so another worker takes them.
  shutdownTimeout: duration('20s', { zeroMeans: 'hand running jobs back at once' }).describe('on SIGTERM, how long running jobs may finish before being handed back'),
  lockDuration: duration('30s').describe('job lock duration; a killed worker\'s job is retried after about this'),
  stalledInterval: duration('30s').describe('how often stalled jobs of dead workers are looked for'),
  // A job that keeps killing workers is failed instead of retried forever.
  maxStalledCount: integer(2, 0, 100).describe('times a job may stall before it is failed'),
};

export const WorkerOptionsSchema = z.object(workerOptionsShape);
/** The options as given in code (durations as `'5s'` or seconds), for parseWorkerOptions. */
export type RawWorkerOptions = Partial<z.input<typeof WorkerOptionsSchema>>;
/** The options as loadOptions returns them (defaults filled, durations in ms, flag names). */
export type LoadedWorkerOptions = z.output<typeof WorkerOptionsSchema>;

/**
 * The worker's options compiled: defaults filled, durations in milliseconds
 * (`...Ms`), combinations checked. These names are used unchanged by every
 * part they reach (agent client, poller, store, processor).
 */
export interface WorkerOptions {
  readonly workerConcurrency: number;
  readonly agentConcurrency: number;
  readonly agentConnectTimeoutMs: number;
  readonly agentTimeoutMs: number;
  readonly jobDeadlineShare: number;
  readonly agentSlowAfterMs: number;
  readonly agentBackoffMaxMs: number;
  readonly slowLaneConcurrency: number;
  readonly agentMaxResponseBytes: number;
  readonly workerMemory: number;
  /** What one agent's poll may hold or create, defaults derived from workerMemory (ingest/limits.ts). */
  readonly agentLimits: AgentLimits;
  readonly maxDataTables: number;
  readonly agentTlsCa?: string;
  readonly agentTlsCert?: string;
  readonly agentTlsKey?: string;
  readonly agentTlsMinVersion: SecureVersion;
  readonly discoveryRefreshMs: number;
  readonly writeMethod: WriteMethod;
  readonly insertBatchRows: number;
  readonly writeBatchRows: number;
  readonly rulesRefreshMs: number;
  readonly agentFailureThreshold: number;
  readonly publishAlerts: boolean;
  /** A `c$event_types` id, 0 = off. */
  readonly alertLogLevel: number;
  readonly missingAfterMs: number;
  readonly shutdownTimeoutMs: number;
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  readonly maxStalledCount: number;
  readonly heartbeatIntervalMs: number;
  readonly heapGrowthPercent: number;
}

/** Durations the code runs on a timer: 0 would spin (BullMQ refuses a 0 stalledInterval, deep in start-up). */
const POSITIVE_DURATIONS = ['lockDuration', 'stalledInterval', 'heartbeatInterval', 'agentSlowAfter', 'agentBackoffMax', 'agentTimeout'] as const;

/**
 * Compiles loaded options (loadOptions' output: defaults filled, durations
 * already in ms under their flag names): rejects conflicting options, each
 * error a ConfigError naming the field, and names durations `...Ms`. The
 * CLI calls it at start-up and on every reload.
 */
export function compileWorkerOptions(loaded: LoadedWorkerOptions): WorkerOptions {
  const o = loaded;
  for (const field of POSITIVE_DURATIONS) {
    if (!(o[field] > 0)) throw new ConfigError(field, 'must be more than 0');
  }
  const derived = defaultAgentLimits(agentShareBytes(o.workerMemory, o.workerConcurrency, o.agentConcurrency));
  const agentMaxResponseBytes = o.agentMaxResponseBytes ?? derived.maxResponseBytes;
  const counts = {
    maxResources: o.agentMaxResources ?? derived.maxResources,
    maxValues: o.agentMaxValues ?? derived.maxValues,
    maxRows: o.agentMaxRows ?? derived.maxRows,
    maxLogLines: o.agentMaxLogLines ?? derived.maxLogLines,
    maxNames: o.agentMaxNames ?? derived.maxNames,
  };
  return {
    workerConcurrency: o.workerConcurrency,
    agentConcurrency: o.agentConcurrency,
    // The whole call is bounded by agentTimeout: a shorter --agent-timeout alone bounds the connect too.
    agentConnectTimeoutMs: Math.min(o.agentConnectTimeout, o.agentTimeout),
    agentTimeoutMs: o.agentTimeout,
    jobDeadlineShare: o.jobDeadlineShare,
    agentSlowAfterMs: o.agentSlowAfter,
    agentBackoffMaxMs: o.agentBackoffMax,
    slowLaneConcurrency: o.slowLaneConcurrency,
    agentMaxResponseBytes,
    workerMemory: o.workerMemory,
    agentLimits: {
      ...counts,
      // Limits raised above their derived values raise the memory bounds with them: the operator chose that cost.
      maxParsedBytes: Math.max(derived.maxParsedBytes, agentMaxResponseBytes * 3),
      maxPreparedBytes: Math.max(derived.maxPreparedBytes, preparedBytesOf(counts)),
      maxNewDataTables: o.agentMaxNewDataTables,
    },
    maxDataTables: o.maxDataTables,
    ...stripUndefined({ agentTlsCa: o.agentTlsCa, agentTlsCert: o.agentTlsCert, agentTlsKey: o.agentTlsKey }),
    agentTlsMinVersion: o.agentTlsMinVersion,
    discoveryRefreshMs: o.discoveryRefresh,
    writeMethod: o.writeMethod,
    insertBatchRows: o.insertBatchRows,
    writeBatchRows: o.writeBatchRows,
    rulesRefreshMs: o.rulesRefresh,
    agentFailureThreshold: o.agentFailureThreshold,
    publishAlerts: o.publishAlerts,
    alertLogLevel: o.alertLogLevel,
    missingAfterMs: o.missingAfter,
    shutdownTimeoutMs: o.shutdownTimeout,
    lockDurationMs: o.lockDuration,
    stalledIntervalMs: o.stalledInterval,
    maxStalledCount: o.maxStalledCount,
    heartbeatIntervalMs: o.heartbeatInterval,
    heapGrowthPercent: o.heapGrowthPercent,
  };
}

/** The prepared memory the largest of the count limits alone allows (COST_BYTES). */
function preparedBytesOf(counts: Pick<AgentLimits, 'maxResources' | 'maxValues' | 'maxRows' | 'maxLogLines'>): number {
  return Math.max(
    counts.maxValues * COST_BYTES.value,
    counts.maxRows * COST_BYTES.row,
    counts.maxResources * COST_BYTES.resource,
    counts.maxLogLines * COST_BYTES.logLine,
  );
}

/**
 * For code that builds a worker (tests, bench): parses raw values the way
 * flags are parsed (`'5s'`, a bare number is seconds), fills defaults, then
 * compileWorkerOptions. Errors name the field.
 */
export function parseWorkerOptions(raw: RawWorkerOptions = {}): WorkerOptions {
  return compileWorkerOptions(parseOptions(WorkerOptionsSchema, raw));
}
