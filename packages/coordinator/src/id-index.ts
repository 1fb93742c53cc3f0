/** Ids may leave this many slots per id unused and still get a direct table (4 bytes a slot). */
const DENSE_SLOTS_PER_ID = 8;
/** Small id sets always get a direct table below this id (256 KB). */
const DENSE_MIN_SLOTS = 65_536;

/**
 * The position of an agent id in an ascending list of ids. Agent ids are
 * `c$agents.id` (AUTO_INCREMENT), nearly dense, so the positions usually sit in
 * a table indexed by id: one memory read per lookup. A binary search over a
 * million ids reads about 20 cache lines scattered over 8 MB, and looking up
 * every member of 20,000 groups that way took half a second (bench/README.md,
 * scenario schedule). Sparse ids (a table with large gaps) fall back to it.
 */
export class IdIndex {
  private readonly direct?: Int32Array;

  /** Whether ascending `ids` are dense enough for a table indexed by id (its length, or 0). */
  static directLength(ids: ArrayLike<number>): number {
    const last = ids.length ? ids[ids.length - 1] : -1;
    return last >= 0 && last < Math.max(DENSE_MIN_SLOTS, ids.length * DENSE_SLOTS_PER_ID) ? last + 1 : 0;
  }

  /** `ids` must ascend; it is kept, not copied. */
  constructor(private readonly ids: ArrayLike<number>) {
    const length = IdIndex.directLength(ids);
    if (length > 0) {
      this.direct = new Int32Array(length).fill(-1);
      for (let p = 0; p < ids.length; p += 1) if (Number.isInteger(ids[p]) && ids[p] >= 0) this.direct[ids[p]] = p;
    }
  }

  get size(): number {
    return this.ids.length;
  }

  /** Position of `id`, or -1. */
  positionOf(id: number): number {
    if (this.direct) return id >= 0 && id < this.direct.length && Number.isInteger(id) ? this.direct[id] : -1;
    let lo = 0;
    let hi = this.ids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.ids[mid];
      if (v === id) return mid;
      if (v < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}
