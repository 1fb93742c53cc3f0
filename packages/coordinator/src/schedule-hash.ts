import { FENCED_HSET, type Logger, type Redis } from '@watched/core';
import { dueSlot, type PollGroup } from './group-planner.js';

/** One field of the schedule hash (`<prefix>:schedule`), per group; read by `watched status`. */
export interface GroupSchedule {
  /** The group's poll interval (ms): the stored name, like `c$agents.pool_freq`, stays as older versions wrote it. */
  frequencyMs: number;
  offsetMs: number;
  agents: number;
  /** The group's members (`c$agents.id`): the assignment, visible in Redis. */
  agentIds: number[];
  /** Latest slot handled (enqueued, or skipped when `skippedSlot === slot`). */
  slot: number;
  /** Latest slot actually enqueued. */
  enqueuedSlot: number | null;
  /** Slots skipped by backpressure, over the life of the installation (carried across terms). */
  skipped: number;
  skippedSlot: number | null;
  /** Term of the leader that wrote this entry. */
  term: number;
  /** Sum of the members' measured poll cost in ms (group-balancer.ts); absent in entries of older versions. */
  costMs?: number;
}

/** What the schedule needs of the leader lease (`LeaderLease`). */
export interface LeaseView {
  readonly term: number;
  /** `<nodeId>:<term>` while held. */
  readonly token: string | undefined;
  isLeader(): boolean;
  /** Still leader, asked of MySQL's term record too (`LeaderLease.confirm`); absent: `isLeader()` alone. */
  confirm?(): Promise<boolean>;
}

/** How far a group's latest enqueued slot is behind the slot due at `now` (0: on time). */
export function groupLagMs(entry: Pick<GroupSchedule, 'frequencyMs' | 'offsetMs' | 'enqueuedSlot'>, now: number): number {
  const due = dueSlot({ pollIntervalMs: entry.frequencyMs, offsetMs: entry.offsetMs }, now);
  return entry.enqueuedSlot === null ? due - entry.offsetMs : Math.max(0, due - entry.enqueuedSlot);
}

/**
 * The leader's copy of the schedule hash and its only writer. A new leader
 * adopts the hash its predecessor left (its last slots, skip counts and
 * assignment), so backpressure and skip counts carry over a failover. Every
 * write is fenced: a script writes the entries only while the lease is still
 * this leader's (`FENCED_HSET`), so a deposed leader waking up late writes
 * nothing, and the caller enqueues nothing either.
 */
export class ScheduleHash {
  private entries = new Map<string, GroupSchedule>();
  /** Entries to delete from the hash with the next write (groups no longer planned, unreadable entries). */
  private readonly removed = new Set<string>();
  private adoptedTerm = 0;

  constructor(
    private readonly redis: Redis,
    private readonly keys: { leaderLease: string; schedule: string },
    private readonly logger: Logger,
  ) {}

  /** The term whose leader adopted this copy (0: none yet). */
  get term(): number {
    return this.adoptedTerm;
  }

  /** Entries are waiting to be deleted from the hash: the next tick writes even if no slot is due. */
  get hasRemovals(): boolean {
    return this.removed.size > 0;
  }

  get(groupId: string): GroupSchedule | undefined {
    return this.entries.get(groupId);
  }

  all(): IterableIterator<[string, GroupSchedule]> {
    return this.entries.entries();
  }

  /**
   * Reads the hash as the previous leader left it, for `term`, and returns the
   * groups it describes (ordered as planned). An entry that is not a group's
   * schedule is logged and deleted with the next write (its agents are
   * planned again).
   */
  async adopt(term: number): Promise<PollGroup[]> {
    const raw = await this.redis.hgetall(this.keys.schedule);
    this.entries = new Map();
    this.removed.clear();
    for (const [id, json] of Object.entries(raw)) {
      const entry = parseEntry(json);
      if (entry) this.entries.set(id, entry);
      else {
        this.logger.error(`schedule entry ${id} is not a group's schedule: ignored (its agents are planned again): ${json.slice(0, 200)}`);
        this.removed.add(id);
      }
    }
    this.adoptedTerm = term;
    return adoptedGroups(this.entries);
  }

  /** Forgets the entries of groups not in `planned` (a re-plan dropped them); the hash loses them with the next write. */
  retain(planned: ReadonlySet<string>): void {
    for (const id of this.entries.keys()) {
      if (!planned.has(id)) {
        this.entries.delete(id);
        this.removed.add(id);
      }
    }
  }

  /**
   * Writes `next` under the lease and deletes the removed entries not planned
   * again meanwhile (`planned`). False, with nothing written or changed here,
   * when the lease is no longer ours, on our clock, in MySQL's term record or in Redis.
   */
  async publish(next: ReadonlyMap<string, GroupSchedule>, lease: LeaseView, planned: readonly PollGroup[]): Promise<boolean> {
    const token = lease.token;
    const fields: Record<string, string> = {};
    for (const [id, entry] of next) fields[id] = JSON.stringify(entry);
    const written =
      token !== undefined &&
      lease.isLeader() &&
      (lease.confirm ? await lease.confirm() : true) &&
      Number(await this.redis.eval(FENCED_HSET, 2, this.keys.leaderLease, this.keys.schedule, token, JSON.stringify(fields))) === 1;
    if (!written) return false;
    if (this.removed.size > 0) {
      // Not a group planned again under the same id meanwhile (its entry was just written).
      const ids = new Set(planned.map((g) => g.id));
      const gone = [...this.removed].filter((id) => !ids.has(id));
      if (gone.length > 0) await this.redis.hdel(this.keys.schedule, ...gone);
      this.removed.clear();
    }
    for (const [id, entry] of next) this.entries.set(id, entry);
    return true;
  }
}

/** A schedule hash field, or undefined when it is not JSON or lacks what scheduling reads (frequency, offset, slot). */
function parseEntry(json: string): GroupSchedule | undefined {
  let entry: unknown;
  try {
    entry = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof entry !== 'object' || entry === null) return undefined;
  const e = entry as Partial<GroupSchedule>;
  const valid = Number.isInteger(e.frequencyMs) && e.frequencyMs! > 0 && Number.isInteger(e.offsetMs) && Number.isFinite(e.slot);
  return valid ? (e as GroupSchedule) : undefined;
}

/** The groups a schedule hash describes (entries of older versions without `agentIds` are left out), ordered as planned. */
function adoptedGroups(schedule: ReadonlyMap<string, GroupSchedule>): PollGroup[] {
  const groups: PollGroup[] = [];
  for (const [id, e] of schedule) {
    if (Array.isArray(e.agentIds) && e.agentIds.every((a) => Number.isInteger(a))) {
      groups.push({ id, pollIntervalMs: e.frequencyMs, offsetMs: e.offsetMs, agentIds: e.agentIds, costMs: Number(e.costMs ?? 0) });
    }
  }
  return groups.sort((a, b) => a.pollIntervalMs - b.pollIntervalMs || a.offsetMs - b.offsetMs);
}
