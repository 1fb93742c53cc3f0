import type { Logger } from '@watched/core';

/** Names quoted per reason in a summary line: enough to start looking, bounded whatever the fleet. */
const EXAMPLES_PER_REASON = 3;

/**
 * The agents of one job that could not be polled, summed up in one line per
 * job (counts by reason and a few names) instead of a line per agent: 5,000
 * unreachable agents are a few lines, not thousands. Each agent's own
 * failure stays recorded in `agt$state` / `agt$history` (`agents list`).
 */
export class AgentFailureSummary {
  private readonly byReason = new Map<string, { count: number; examples: string[] }>();
  private total = 0;

  add(agent: string, reason: string): void {
    let entry = this.byReason.get(reason);
    if (!entry) {
      entry = { count: 0, examples: [] };
      this.byReason.set(reason, entry);
    }
    entry.count += 1;
    this.total += 1;
    if (entry.examples.length < EXAMPLES_PER_REASON) entry.examples.push(agent);
  }

  get failed(): number {
    return this.total;
  }

  /** One warning for the job, when any agent failed. */
  log(logger: Logger, job: string, agents: number): void {
    if (this.total === 0) return;
    const reasons = [...this.byReason.entries()].sort((a, b) => b[1].count - a[1].count);
    const parts = reasons.map(([reason, { count, examples }]) => `${reason} ${count} (${examples.join(', ')}${count > examples.length ? ', ...' : ''})`);
    logger.warn(`${job}: ${this.total} of ${agents} agents could not be polled: ${parts.join('; ')}`, {
      failedAgents: this.total,
      byReason: Object.fromEntries(reasons.map(([reason, { count }]) => [reason, count])),
    });
  }
}
