import { crc32 } from 'node:zlib';
import { DEFAULT_POLL_INTERVAL_S, type Pool, type RowDataPacket } from '@watched/core';
import type { PlannedAgent } from './group-planner.js';

/**
 * Ids per probe chunk: a change re-reads only the chunks it touched, and the
 * probe returns about 250 rows for a million agents.
 */
const CHUNK_SIZE = 4096;

/** Above this share of stale chunks one ordered scan is cheaper than many range reads. */
const FULL_READ_SHARE = 0.25;

/**
 * The change probe, one scan of the primary key: per chunk of ids, the row
 * count and the XOR of each row's CRC32 over what scheduling depends on (id,
 * pool_freq). An added, removed or re-timed agent changes its chunk's count or
 * checksum (unless two CRCs collide: 1 in 2^32). The kept checksums are
 * computed in JS from the rows read (`rowChecksum`, node:zlib's CRC32 is the
 * same as MariaDB's). Measured on MariaDB 10.11 with
 * a million agents: 0.2 s, against 0.3 s to read the rows and 0.4 s to plan them
 * (bench/README.md, scenario schedule).
 */
const PROBE_SQL =
  `SELECT id DIV ${CHUNK_SIZE} AS chunk, COUNT(*) AS n, BIT_XOR(CRC32(CONCAT_WS(':', id, pool_freq))) AS checksum ` +
  'FROM `c$agents` GROUP BY chunk ORDER BY NULL'; // no sort of the groups: MariaDB sorts GROUP BY results unless told not to

interface Chunk {
  count: number;
  /** XOR of CRC32(`id:pool_freq`) over the chunk's rows, as the probe computes it (unsigned). */
  checksum: number;
  agents: PlannedAgent[];
}

/** The probe's term of one row: CRC32 of `CONCAT_WS(':', id, pool_freq)` (CONCAT_WS skips a NULL). */
function rowChecksum(id: number, poolFreq: number | null): number {
  return crc32(poolFreq === null ? String(id) : `${id}:${poolFreq}`);
}

function chunkOf(id: number): number {
  return Math.floor(id / CHUNK_SIZE);
}

/** Rows read per step of a rebuild of the whole view from `c$agents` (about 0.15 s at a million agents). */
const REBUILD_STEP = 250_000;
/** Agents per step of a seed: a seeded agent costs about twice a read one (a CRC of a string built for it, the sorts at the end). */
const SEED_STEP = REBUILD_STEP / 2;

/** A whole view being built over several calls: from every row of `c$agents`, or from an assignment (`seed`). */
type Rebuild =
  | { from: 'rows'; chunks: Map<number, Chunk>; afterId: number }
  | { from: 'seed'; chunks: Map<number, Chunk>; groups: ReadonlyArray<{ pollIntervalMs: number; agentIds: readonly number[] }>; next: number };

/**
 * The leader's view of `c$agents`, which the web front writes directly (no
 * notification). Re-reading and re-planning every agent at each refresh costs
 * most of a second at a million agents, so each refresh runs a cheap change
 * probe instead and re-reads only the chunks of ids whose count or checksum
 * moved; the agents are returned (to be re-planned) only when something changed.
 * The checksums kept are computed here from the rows read (the same CRC32 as
 * the probe's), so the first read needs no probe, and a new leader can seed the
 * view from the assignment its predecessor left (`seed`) and re-read only what
 * differs from it. A whole view (the first read, a seed, a change touching
 * more than a quarter of the chunks) is built in steps (REBUILD_STEP rows,
 * SEED_STEP agents), one per call, so no call takes much more than a quarter
 * of a second.
 */
export class AgentChangeProbe {
  private chunks = new Map<number, Chunk>();
  private forced = true;
  /** Whether `chunks` holds a complete view yet (else the next calls rebuild one). */
  private known = false;
  private rebuild?: Rebuild;
  private lastRowsRead = 0;
  private lastStep: 'read' | 'seed' | 'probe' | 'probe, re-read' | 'probe, read' = 'read';

  constructor(private readonly pool: Pool) {}

  /** What the last `changes()` did: `read` (a step of reading every row), `seed`, `probe`, `probe, re-read` (changed chunks), `probe, read` (so many: every row). */
  get step(): string {
    return this.lastStep;
  }

  /** Rows of `c$agents` read, or agents seeded, by the last `changes()`. */
  get rowsRead(): number {
    return this.lastRowsRead;
  }

  /** A whole view is being built: the next `changes()` continues it (call again soon, not at the next refresh). */
  get rebuilding(): boolean {
    return this.rebuild !== undefined || !this.known;
  }

  /** The next `changes()` returns the agents even if nothing changed. */
  invalidate(): void {
    this.forced = true;
  }

  /**
   * Takes `groups` (a predecessor's assignment, from the schedule hash) as the
   * agents known, built over the next calls: the call after that probes and
   * returns agents only if `c$agents` differs from them (an agent the
   * predecessor had not planned yet, a frequency not in whole seconds or NULL:
   * their chunks are re-read). About half a second of CPU for a million agents.
   */
  seed(groups: ReadonlyArray<{ pollIntervalMs: number; agentIds: readonly number[] }>): void {
    this.rebuild = { from: 'seed', chunks: new Map(), groups, next: 0 };
    this.forced = false;
  }

  /**
   * Every scheduled agent (ordered by id) when `c$agents` changed since the
   * previous call (or the seed), or after `invalidate()`; undefined when nothing
   * changed, or while a whole view is still being built (`rebuilding`). The
   * first calls read every row, without a probe.
   */
  async changes(): Promise<PlannedAgent[] | undefined> {
    this.lastRowsRead = 0;
    if (!this.known && this.rebuild === undefined) this.rebuild = { from: 'rows', chunks: new Map(), afterId: -1 };
    if (this.rebuild) return this.continueRebuild(this.rebuild);

    this.lastStep = 'probe';
    const [probe] = await this.pool.query<RowDataPacket[]>(PROBE_SQL);
    const seen = new Map<number, { count: number; checksum: number }>();
    for (const row of probe) seen.set(Number(row.chunk), { count: Number(row.n), checksum: Number(row.checksum) });

    const removed = [...this.chunks.keys()].filter((chunk) => !seen.has(chunk));
    const stale = [...seen.entries()]
      .filter(([chunk, s]) => {
        const known = this.chunks.get(chunk);
        return known === undefined || known.count !== s.count || known.checksum !== s.checksum;
      })
      .map(([chunk]) => chunk);
    if (!this.forced && removed.length === 0 && stale.length === 0) return undefined;
    if (stale.length > seen.size * FULL_READ_SHARE) {
      // Most of the table changed: one ordered scan, in steps, is cheaper than many range reads.
      this.rebuild = { from: 'rows', chunks: new Map(), afterId: -1 };
      const agents = await this.continueRebuild(this.rebuild);
      this.lastStep = 'probe, read';
      return agents;
    }
    // Read before touching the cache: a failed read leaves it as it was, so the change is seen again next time.
    const fresh = new Map<number, Chunk>();
    if (stale.length > 0) {
      this.lastStep = 'probe, re-read';
      this.add(fresh, await this.readRows(`WHERE ${stale.map(() => '(id BETWEEN ? AND ?)').join(' OR ')} ORDER BY id`, stale.flatMap((c) => [c * CHUNK_SIZE, (c + 1) * CHUNK_SIZE - 1])));
    }
    // Kept as read (not as probed): a write racing the read shows up as a change again at the next probe.
    for (const chunk of stale) this.chunks.set(chunk, fresh.get(chunk) ?? { count: 0, checksum: 0, agents: [] });
    for (const chunk of removed) this.chunks.delete(chunk);
    this.forced = false;
    return this.all();
  }

  /** One step of a rebuild; when it completes, the view is replaced (a read returns every agent, a seed nothing). */
  private async continueRebuild(rebuild: Rebuild): Promise<PlannedAgent[] | undefined> {
    let done: boolean;
    if (rebuild.from === 'rows') {
      this.lastStep = 'read';
      const rows = await this.readRows('WHERE id > ? ORDER BY id LIMIT ?', [rebuild.afterId, REBUILD_STEP]);
      this.add(rebuild.chunks, rows);
      if (rows.length > 0) rebuild.afterId = Number(rows[rows.length - 1][0]);
      done = rows.length < REBUILD_STEP;
    } else {
      this.lastStep = 'seed';
      let agents = 0;
      while (rebuild.next < rebuild.groups.length && agents < SEED_STEP) {
        const group = rebuild.groups[rebuild.next++];
        const poolFreq = group.pollIntervalMs / 1000;
        for (const id of group.agentIds) this.addRow(rebuild.chunks, id, poolFreq, group.pollIntervalMs);
        agents += group.agentIds.length;
      }
      this.lastRowsRead = agents;
      done = rebuild.next >= rebuild.groups.length;
      if (done) for (const [key, chunk] of rebuild.chunks) if (!isAscending(chunk.agents)) chunk.agents = ordered(key, chunk.agents);
    }
    if (!done) return undefined;
    this.chunks = rebuild.chunks;
    this.rebuild = undefined;
    this.known = true;
    if (rebuild.from === 'seed' && !this.forced) return undefined;
    this.forced = false;
    return this.all();
  }

  private all(): PlannedAgent[] {
    // Filled in place: flatMap or push over a million agents is 3 to 10 times slower.
    const ordered = [...this.chunks.keys()].sort((a, b) => a - b).map((chunk) => this.chunks.get(chunk)!.agents);
    const all = new Array<PlannedAgent>(ordered.reduce((n, agents) => n + agents.length, 0));
    let next = 0;
    for (const agents of ordered) for (const agent of agents) all[next++] = agent;
    return all;
  }

  private async readRows(where: string, values: unknown[]): Promise<Array<[number, number | null]>> {
    const [rows] = await this.pool.query<RowDataPacket[]>({ sql: `SELECT id, pool_freq FROM \`c$agents\` ${where}`, values, rowsAsArray: true });
    this.lastRowsRead += rows.length;
    return rows as unknown as Array<[number, number | null]>;
  }

  /** Rows into chunks, with their checksums. */
  private add(chunks: Map<number, Chunk>, rows: Array<[number, number | null]>): void {
    for (const [rawId, rawFrequency] of rows) {
      const poolFreq = rawFrequency === null ? null : Number(rawFrequency);
      this.addRow(chunks, Number(rawId), poolFreq, Math.max(1, poolFreq ?? DEFAULT_POLL_INTERVAL_S) * 1000);
    }
  }

  private addRow(chunks: Map<number, Chunk>, id: number, poolFreq: number | null, pollIntervalMs: number): void {
    const key = chunkOf(id);
    let chunk = chunks.get(key);
    if (!chunk) chunks.set(key, (chunk = { count: 0, checksum: 0, agents: [] }));
    chunk.count += 1;
    chunk.checksum = (chunk.checksum ^ rowChecksum(id, poolFreq)) >>> 0;
    chunk.agents.push({ id, pollIntervalMs });
  }
}

/** A chunk's agents by id: a counting sort over the chunk's CHUNK_SIZE ids (linear; a comparison sort of a million agents took a tick's worth). */
function ordered(chunk: number, agents: readonly PlannedAgent[]): PlannedAgent[] {
  const slots = new Array<PlannedAgent | undefined>(CHUNK_SIZE);
  const base = chunk * CHUNK_SIZE;
  for (const agent of agents) slots[agent.id - base] = agent; // a duplicate id keeps one (its count already differs from the table's)
  const out: PlannedAgent[] = [];
  for (const agent of slots) if (agent !== undefined) out.push(agent);
  return out;
}

function isAscending(agents: readonly PlannedAgent[]): boolean {
  for (let i = 1; i < agents.length; i += 1) if (agents[i].id < agents[i - 1].id) return false;
  return true;
}
