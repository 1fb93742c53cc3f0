import { z } from 'zod';
import { ConfigError, duration, integer } from '@watched/core';

/**
 * Options of the coordinator role as given (flags, config file, environment):
 * the keys are the CLI flag names in camelCase. Only `compileCoordinatorOptions`
 * reads them; the role reads the compiled `CoordinatorOptions`.
 */
export const coordinatorOptionsShape = {
  /** Agents per sub-group (one poll job per group and slot). */
  groupSize: integer(50, 1, 10_000).describe('agents per sub-group (one poll job per group and slot)'),
  /** How often the leader looks for due slots. */
  tickInterval: duration('1s').describe('how often the leader looks for due slots'),
  /** How often `c$agents` is re-read for added, removed or changed agents. */
  agentRefresh: duration('5s').describe('how often c$agents is re-read'),
  /** Leader lease time-to-live; a dead leader is replaced after about this long. */
  leaseTtl: duration('10s').describe('leader lease time-to-live'),
  /** Attempts of a poll job before it is kept as failed. */
  jobAttempts: integer(5, 1, 100).describe('attempts of a poll job before it is kept as failed'),
  /** How long finished jobs (and so their ids) are kept: enqueueing a slot twice is refused meanwhile. */
  jobRetention: duration('1h').describe('how long finished poll jobs (and their ids) are kept'),
  /** How often measured poll costs are re-read and groups rebalanced by cost (a few agents per pass); 0 = by count only. */
  rebalanceInterval: duration('5m').describe('how often groups are rebalanced by measured poll cost (0 = by count only)'),
  /** A group within this share of the mean cost of its frequency's groups counts as balanced. */
  balanceTolerance: z.coerce.number().min(0).max(10).default(0.1).describe('cost spread tolerated between groups (0.1 = ±10 %)'),
  /** Membership heartbeat period; a replica missing three heartbeats is gone from `watched status`. */
  heartbeatInterval: duration('5s').describe('membership heartbeat period (gone after 3 missed)'),
};

export const CoordinatorOptionsSchema = z.object(coordinatorOptionsShape);

type ParsedCoordinatorOptions = z.output<typeof CoordinatorOptionsSchema>;

/**
 * What `compileCoordinatorOptions` takes: the options as the loader returns
 * them (parsed by `coordinatorOptionsShape`: durations in milliseconds), or
 * some given in code with durations as text (`'10s'`); a missing one takes
 * its default. (In a config file or flag a bare number is seconds; here,
 * after parsing, it is milliseconds.)
 */
export type CoordinatorRawOptions = { [K in keyof ParsedCoordinatorOptions]?: ParsedCoordinatorOptions[K] | string };

/** The coordinator's options, compiled: defaults filled, durations in milliseconds, combinations checked. */
export interface CoordinatorOptions {
  readonly groupSize: number;
  readonly tickIntervalMs: number;
  readonly agentRefreshMs: number;
  readonly leaseTtlMs: number;
  readonly jobAttempts: number;
  readonly jobRetentionMs: number;
  /** 0: groups are balanced by count only. */
  readonly rebalanceIntervalMs: number;
  readonly balanceTolerance: number;
  readonly heartbeatIntervalMs: number;
}

/**
 * Raw options to the compiled ones; throws a `ConfigError` naming the field
 * for a value that cannot work. Unknown keys (the other roles' options of a
 * merged configuration) are ignored.
 */
export function compileCoordinatorOptions(raw: CoordinatorRawOptions = {}): CoordinatorOptions {
  // Parsed again (defaults, bounds), so a duration already in milliseconds is given to the shape as such.
  const ms = (value: number | string | undefined) => (typeof value === 'number' ? `${value}ms` : value);
  const o = CoordinatorOptionsSchema.parse({
    ...raw,
    tickInterval: ms(raw.tickInterval),
    agentRefresh: ms(raw.agentRefresh),
    leaseTtl: ms(raw.leaseTtl),
    jobRetention: ms(raw.jobRetention),
    rebalanceInterval: ms(raw.rebalanceInterval),
    heartbeatInterval: ms(raw.heartbeatInterval),
  });
  const compiled: CoordinatorOptions = {
    groupSize: o.groupSize,
    tickIntervalMs: o.tickInterval,
    agentRefreshMs: o.agentRefresh,
    leaseTtlMs: o.leaseTtl,
    jobAttempts: o.jobAttempts,
    jobRetentionMs: o.jobRetention,
    rebalanceIntervalMs: o.rebalanceInterval,
    balanceTolerance: o.balanceTolerance,
    heartbeatIntervalMs: o.heartbeatInterval,
  };
  // The tick loop runs back to back without a pause (it would spin and hammer Redis).
  if (compiled.tickIntervalMs <= 0) throw new ConfigError('tickInterval', 'must be longer than 0');
  // The leader renews its lease in its tick: with ticks as far apart as the lease lives, the lease
  // expires between two ticks and passes to a standby, back and forth (leadership flaps).
  if (compiled.tickIntervalMs >= compiled.leaseTtlMs) {
    throw new ConfigError('tickInterval', `must be shorter than leaseTtl (${compiled.leaseTtlMs} ms), or the lease expires between ticks`);
  }
  // A heartbeat's Redis expiry is three periods (Membership): Redis refuses an expiry of 0.
  if (compiled.heartbeatIntervalMs <= 0) throw new ConfigError('heartbeatInterval', 'must be longer than 0');
  return Object.freeze(compiled);
}
