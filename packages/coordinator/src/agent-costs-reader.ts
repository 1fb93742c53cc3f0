import { AgentStateTable, type Pool } from '@watched/core';
import { AgentCosts } from './agent-costs.js';

/**
 * Reads the measured poll costs (`agt$state.poll_ms`) a page at a time, in
 * primary-key order (`agt_id > last`), so the leader spreads the read of a
 * million rows over several ticks instead of spending most of a second in one
 * (bench/README.md, scenario schedule). A page is a consistent read of its own;
 * costs drift anyway, so pages from different instants are good enough.
 */
export class AgentCostsReader {
  private readonly ids: Float64Array[] = [];
  private readonly ms: Float64Array[] = [];
  private after = -1;
  private readonly states: AgentStateTable;

  constructor(
    pool: Pool,
    /** Rows per `next()` call. */
    private readonly pageSize: number,
  ) {
    this.states = new AgentStateTable(pool);
  }

  /** Every measured cost in one go (tests, tools). */
  static async loadAll(pool: Pool): Promise<AgentCosts> {
    const reader = new AgentCostsReader(pool, Number.MAX_SAFE_INTEGER);
    for (;;) {
      const costs = await reader.next();
      if (costs) return costs;
    }
  }

  /** Reads the next page; returns every cost once the last page is read, else undefined. */
  async next(): Promise<AgentCosts | undefined> {
    const list = await this.states.pollCosts(this.after, this.pageSize);
    const ids = new Float64Array(list.length);
    const ms = new Float64Array(list.length);
    for (let i = 0; i < list.length; i += 1) {
      ids[i] = Number(list[i][0]);
      ms[i] = Number(list[i][1]);
    }
    this.ids.push(ids);
    this.ms.push(ms);
    if (list.length > 0) this.after = ids[list.length - 1];
    return list.length < this.pageSize ? AgentCosts.fromSorted(concat(this.ids), concat(this.ms)) : undefined;
  }
}

function concat(parts: Float64Array[]): Float64Array {
  if (parts.length === 1) return parts[0];
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
