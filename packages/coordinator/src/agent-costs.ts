import { IdIndex } from './id-index.js';

/** Costs sampled at most for the median (a sort of a million values costs more than the rest of a plan). */
const MEDIAN_SAMPLE = 10_001;

/** Cost of an agent when none is measured at all: every agent then weighs the same. */
const UNIT_COST = 1;

/**
 * Measured poll cost per agent (`agt$state.poll_ms`, migration 0007), held
 * as two sorted typed arrays rather than a Map (a million-entry Map costs
 * about half a second to look up a million agents), with an `IdIndex` from id
 * to position.
 */
export class AgentCosts {
  static readonly none = new AgentCosts(new Float64Array(0), new Float64Array(0));

  private lookup?: IdIndex;

  private constructor(
    private readonly ids: Float64Array,
    private readonly ms: Float64Array,
  ) {}

  /** Cost by id (NaN: unmeasured) when ids are dense: one memory read per lookup instead of two. */
  private direct?: Float64Array;

  /** Built at the first lookup (a plan without costs never needs it). */
  private get index(): IdIndex {
    return (this.lookup ??= new IdIndex(this.ids));
  }

  private directTable(): Float64Array | undefined {
    const length = this.direct === undefined ? IdIndex.directLength(this.ids) : 0;
    if (length > 0) {
      this.direct = new Float64Array(length).fill(Number.NaN);
      for (let p = 0; p < this.ids.length; p += 1) if (Number.isInteger(this.ids[p]) && this.ids[p] >= 0) this.direct[this.ids[p]] = this.ms[p];
    }
    return this.direct;
  }

  /** From (agent id, cost ms) pairs in any order; non-positive costs count as unmeasured. */
  static from(entries: Iterable<readonly [number, number]>): AgentCosts {
    const list = [...entries].filter(([, ms]) => ms > 0).sort((a, b) => a[0] - b[0]);
    return new AgentCosts(Float64Array.from(list, ([id]) => id), Float64Array.from(list, ([, ms]) => ms));
  }

  /** From ids that ascend and their costs (taken, not copied). */
  static fromSorted(ids: Float64Array, ms: Float64Array): AgentCosts {
    return new AgentCosts(ids, ms);
  }

  get size(): number {
    return this.ids.length;
  }

  /** The measured cost of one agent, or undefined. */
  get(id: number): number | undefined {
    const p = this.index.positionOf(id);
    return p < 0 ? undefined : this.ms[p];
  }

  /**
   * The cost of each of `ids`, in order: measured, else the median of the
   * measured ones among them (sampled), else 1 (nothing measured: by count).
   */
  of(ids: readonly number[]): Float64Array {
    const out = new Float64Array(ids.length);
    if (this.ids.length === 0) return out.fill(UNIT_COST);
    const direct = this.directTable();
    if (direct) {
      for (let i = 0; i < ids.length; i += 1) {
        const id = ids[i];
        out[i] = id >= 0 && id < direct.length ? direct[id] : Number.NaN; // a fraction index reads undefined: NaN
      }
    } else {
      const index = this.index;
      for (let i = 0; i < ids.length; i += 1) {
        const p = index.positionOf(ids[i]);
        out[i] = p < 0 ? Number.NaN : this.ms[p];
      }
    }
    const step = Math.max(1, Math.floor(ids.length / MEDIAN_SAMPLE));
    const known: number[] = [];
    for (let i = 0; i < ids.length; i += step) if (!Number.isNaN(out[i])) known.push(out[i]);
    const sorted = Float64Array.from(known).sort();
    const median = sorted.length ? sorted[Math.floor(sorted.length / 2)] : UNIT_COST;
    for (let i = 0; i < out.length; i += 1) if (Number.isNaN(out[i])) out[i] = median;
    return out;
  }
}
