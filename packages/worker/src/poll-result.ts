import type { AgentBackoff } from '@watched/core';
import type { AgentCallError } from './agent-client.js';
import type { SeriesIds } from './ingest/metrics.js';
import type { MetricSeries, ServiceSnapshot } from './ingest/snapshot.js';
import type { BatchInsert } from './sql-batch.js';

/** How one poll of one agent went, as recorded in `agt$history` and `agt$state`. */
export interface PollRecord {
  agentId: number;
  /** The job's slot: the key of the `agt$history` row, identical on a retry. */
  slot: number;
  pollTime: number;
  outcome: 'ok' | 'failed' | 'parse';
  parseErrors: number;
  error?: string;
  /**
   * What the poll cost its job (ms), when that is not its duration: a slow-lane
   * poll costs its group's job nothing, and the leader balances groups by this
   * (agt$state.poll_ms).
   */
  jobCostMs?: number;
  /** Off the hot path (slow lane, backed-off retry) or back on it: set by PollProcessor/SlowLane before storing (absent: back on it). */
  backoff?: AgentBackoff;
}

/**
 * One agent's answer, read and made ready to store: tables and inventory ids
 * exist, rows are built, and everything the store evaluates is here as plain
 * data. Stored (with other agents' polls) by PollStore, which advances the
 * cursor in the same transaction.
 */
export interface PreparedPoll {
  kind: 'prepared';
  record: PollRecord;
  /** How long the agent took to answer (ms, its calls only: preparing the rows is ours). */
  answeredMs: number;
  /** Its previous poll failed: an agent-failed event may be open (none can be open otherwise). */
  failing: boolean;
  /** The agent's clock at the answer: the new cursor. */
  cursor: number;
  /** The samples threshold rules are evaluated against, with the ids they are stored under. */
  series: Array<{ series: MetricSeries; ids: SeriesIds }>;
  /** What presence events are decided by: the hosts this poll reported, its services and their items not ok. */
  presence: { hostIds: number[]; services: Array<{ servId: number; notOk: string[] }> };
  /** The services with their log lines, whose alerts are announced after commit. */
  services: Array<{ service: ServiceSnapshot; servId: number }>;
  inserts: BatchInsert[];
  /** Rows of `inserts`. */
  rows: number;
}

/** A poll that got no usable answer: the store records it as the agent's failure, its cursor unchanged. */
export interface FailedPoll {
  kind: 'failed';
  record: PollRecord & { outcome: 'failed' | 'parse'; error: string };
  /** Why: `timeout` (no answer within the call's limits) sends the agent off the hot path. */
  reason: AgentCallError['reason'];
  /** How long the attempt took (ms), measured when it failed: the agent's poll cost. */
  durationMs: number;
}

/** What polling one agent gave: written, either way, by PollStore. */
export type PollResult = PreparedPoll | FailedPoll;

/** One agent's poll as the job reports it, once stored. */
export interface AgentPollOutcome {
  agentId: number;
  ok: boolean;
  rows: number;
  parseErrors: number;
  error?: string;
}
