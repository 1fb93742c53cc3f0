import { z } from 'zod';
import { ConfigError, duration, integer, roleOptionsShape, parseOptions } from '@watched/core';
import { compileDiscoveryOptions, discoveryOptionsShape, type DiscoveryOptions } from './discovery/discovery-options.js';

/**
 * Options of the coordinator role as given (flags, config file, environment):
 * the keys are the CLI flag names in camelCase. Only `compileCoordinatorOptions`
 * reads them; the role reads the compiled `CoordinatorOptions`.
 */
export const coordinatorOptionsShape = {
  ...roleOptionsShape,
  groupSize: integer(50, 1, 10_000).describe('agents per sub-group (one poll job per group and slot)'),
  tickInterval: duration('1s').describe('how often the leader looks for due slots'),
  /** How often `c$agents` is re-read for added, removed or changed agents. */
  agentRefresh: duration('5s').describe('how often c$agents is re-read'),
  /** Leader lease time-to-live; a dead leader is replaced after about this long. */
  leaseTtl: duration('10s').describe('leader lease time-to-live'),
  jobAttempts: integer(5, 1, 100).describe('attempts of a poll job before it is kept as failed'),
  /** How long finished jobs (and so their ids) are kept: enqueueing a slot twice is refused meanwhile. */
  jobRetention: duration('1h').describe('how long finished poll jobs (and their ids) are kept'),
  /** How often measured poll costs are re-read and groups rebalanced by cost (a few agents per pass); 0 = by count only. */
  rebalanceInterval: duration('5m', { zeroMeans: 'by count only' }).describe('how often groups are rebalanced by measured poll cost (0 = by count only)'),
  /** A group within this share of the mean cost of its frequency's groups counts as balanced. */
  balanceTolerance: z.coerce.number().min(0).max(10).default(0.1).describe('cost spread tolerated between groups (0.1 = ±10 %)'),
  ...discoveryOptionsShape,
};

export const CoordinatorOptionsSchema = z.object(coordinatorOptionsShape);

/** The options as given in code (durations as `'5s'`, a bare number is seconds), for parseCoordinatorOptions. */
export type RawCoordinatorOptions = Partial<z.input<typeof CoordinatorOptionsSchema>>;
/** The options as loadOptions returns them (defaults filled, durations in ms, flag names). */
export type LoadedCoordinatorOptions = z.output<typeof CoordinatorOptionsSchema>;

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
  /** Agent discovery: its sources and reconciliation (docs: README, Agent discovery). */
  readonly discovery: DiscoveryOptions;
}

/**
 * Compiles loaded options (loadOptions' output: defaults filled, durations
 * already in ms under their flag names) into the coordinator's options;
 * throws a `ConfigError` naming the field for a value that cannot work.
 * Unknown keys (the other roles' options of a merged configuration) are
 * ignored. The CLI calls it at start-up and on every reload.
 */
export function compileCoordinatorOptions(loaded: LoadedCoordinatorOptions): CoordinatorOptions {
  const o = loaded;
  // The tick loop would run back to back without a pause (it would spin and hammer Redis).
  if (!(o.tickInterval > 0)) throw new ConfigError('tickInterval', 'must be longer than 0');
  // A heartbeat's Redis expiry is three periods (Membership): Redis refuses an expiry of 0.
  if (!(o.heartbeatInterval > 0)) throw new ConfigError('heartbeatInterval', 'must be longer than 0');
  return Object.freeze({
    groupSize: o.groupSize,
    tickIntervalMs: o.tickInterval,
    agentRefreshMs: o.agentRefresh,
    leaseTtlMs: o.leaseTtl,
    jobAttempts: o.jobAttempts,
    jobRetentionMs: o.jobRetention,
    rebalanceIntervalMs: o.rebalanceInterval,
    balanceTolerance: o.balanceTolerance,
    heartbeatIntervalMs: o.heartbeatInterval,
    discovery: compileDiscoveryOptions(o),
  });
}

/**
 * For code that builds a coordinator or scheduler (tests, bench): parses raw
 * values the way flags are parsed (`'5s'`, a bare number is seconds), fills
 * defaults, then compileCoordinatorOptions. Errors name the field.
 */
export function parseCoordinatorOptions(raw: RawCoordinatorOptions = {}): CoordinatorOptions {
  return compileCoordinatorOptions(parseOptions(CoordinatorOptionsSchema, raw));
}
