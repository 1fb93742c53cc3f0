import { z } from 'zod';
import { duration, integer, roleOptionsShape } from '@watched/core';

/** Options of the coordinator role. */
export const coordinatorOptionsShape = {
  ...roleOptionsShape,
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
};

export const CoordinatorOptionsSchema = z.object(coordinatorOptionsShape);
export type CoordinatorOptions = z.output<typeof CoordinatorOptionsSchema>;

export function compileCoordinatorOptions(
  options: Partial<z.input<typeof CoordinatorOptionsSchema>> = {},
): CoordinatorOptions {
  return CoordinatorOptionsSchema.parse(options);
}
