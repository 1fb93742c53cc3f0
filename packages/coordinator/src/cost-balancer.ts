import { errorMessage, type Logger, type Pool } from '@watched/core';
import { AgentCosts } from './agent-costs.js';
import { AgentCostsReader } from './agent-costs-reader.js';
import type { CoordinatorOptions } from './coordinator-options.js';
import { rebalanceGroups } from './group-balancer.js';
import { planGroups, type PlannedAgent, type PollGroup, type PreviousGroup } from './group-planner.js';
import type { WorkBudget } from './work-budget.js';

/** Moves per periodic rebalance at most: this share of the agents (at least MIN_MOVES). */
const MOVES_SHARE = 0.02;
/** Moves per pass (one pass per tick at a million agents): this share of the agents (at least MIN_MOVES). */
const PASS_MOVES_SHARE = 0.005;
const MIN_MOVES = 10;
/** Rows of `agt$state` read per page (about 0.1 s at a million agents). */
const COST_PAGE_ROWS = 200_000;

type Phase = { name: 'idle' } | { name: 'reading'; reader: AgentCostsReader } | { name: 'balancing'; allowance: number };

/**
 * The leader's cost balancing: plans stay close to the previous assignment
 * (`planGroups` with it), and every `rebalanceIntervalMs` the measured costs are
 * re-read and a few agents moved from the heaviest groups to the lightest
 * (`rebalanceGroups`, at most 2 % of the agents per interval; no limit right
 * after a plan made without a previous one). The work is split into steps
 * bounded by the tick's `WorkBudget`: the costs are read a page at a time and
 * the moves made in passes of at most 0.5 % of the agents, so at a million
 * agents a rebalance spreads over several ticks. A failed read keeps the plan
 * as it is.
 */
export class CostBalancer {
  private costs = AgentCosts.none;
  private balancedAt = Number.NEGATIVE_INFINITY;
  private fresh = false;
  private phase: Phase = { name: 'idle' };

  constructor(
    private readonly pool: Pool,
    private readonly options: Pick<CoordinatorOptions, 'groupSize' | 'rebalanceIntervalMs' | 'balanceTolerance'>,
    private readonly logger: Logger,
  ) {}

  /**
   * A plan of `agents` close to the `previous` groups: the leader's current
   * plan, which after a failover is the schedule's assignment (the scheduler
   * adopts it as its groups).
   */
  plan(agents: PlannedAgent[], previous: readonly PreviousGroup[]): PollGroup[] {
    this.fresh = previous.length === 0;
    if (this.fresh && this.phase.name === 'idle') this.balancedAt = Number.NEGATIVE_INFINITY; // balance the new plan at once
    return planGroups(agents, this.options.groupSize, { previous, costs: this.costs });
  }

  /**
   * The next steps of a rebalance, while the budget lasts: starts one when the
   * interval has passed, reads cost pages, then moves agents in passes. The
   * groups with their costs when a pass ran (moved or not), else undefined.
   */
  async step(now: number, groups: readonly PollGroup[], budget: WorkBudget): Promise<PollGroup[] | undefined> {
    if (this.options.rebalanceIntervalMs <= 0 || groups.length === 0) return undefined;
    if (this.phase.name === 'idle') {
      if (now - this.balancedAt < this.options.rebalanceIntervalMs) return undefined;
      this.balancedAt = now;
      this.phase = { name: 'reading', reader: new AgentCostsReader(this.pool, COST_PAGE_ROWS) };
    }
    while (this.phase.name === 'reading' && budget.left) {
      try {
        const costs = await this.phase.reader.next();
        budget.spend(COST_PAGE_ROWS, 'costs');
        if (costs) {
          this.costs = costs;
          const agents = groups.reduce((n, g) => n + g.agentIds.length, 0);
          this.phase = { name: 'balancing', allowance: this.fresh ? Number.POSITIVE_INFINITY : Math.max(MIN_MOVES, Math.ceil(agents * MOVES_SHARE)) };
        }
      } catch (err) {
        this.logger.warn(`reading agents' poll costs failed, groups stay as they are: ${errorMessage(err)}`);
        this.phase = { name: 'idle' };
        return undefined;
      }
    }
    let balanced: PollGroup[] | undefined;
    let moved = 0;
    while (this.phase.name === 'balancing' && budget.left) {
      const current = balanced ?? groups;
      const agents = current.reduce((n, g) => n + g.agentIds.length, 0);
      const passLimit = Math.max(MIN_MOVES, Math.ceil(agents * PASS_MOVES_SHARE));
      const pass = rebalanceGroups(current, {
        costs: this.costs,
        groupSize: this.options.groupSize,
        tolerance: this.options.balanceTolerance,
        maxMoves: Math.min(passLimit, this.phase.allowance),
      });
      budget.spend(agents, 'rebalance');
      balanced = pass.groups;
      moved += pass.moved;
      this.phase.allowance -= pass.moved;
      // Converged (a pass moved less than it could), or this interval's allowance spent.
      if (pass.moved < passLimit || this.phase.allowance <= 0) {
        this.phase = { name: 'idle' };
        this.fresh = false;
      }
    }
    if (moved > 0) this.logger.info(`rebalanced poll groups by cost: ${moved} agent(s) moved`);
    return balanced;
  }
}
