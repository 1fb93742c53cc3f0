import { agentKey, withTransaction, type ListedAgent, type Pool, type PoolConnection, type RowDataPacket } from '@watched/core';

/** An agent as the sources list it, merged: settings resolved (the first source listing it decides), every source naming it. */
export interface DesiredAgent extends Required<Omit<ListedAgent, 'labels'>> {
  labels: Record<string, string>;
  /** Names of the sources listing it, sorted. */
  sources: string[];
}

export interface ReconcileInput {
  /** Every agent some source lists now, by `agentKey`. */
  desired: ReadonlyMap<string, DesiredAgent>;
  /** Sources configured but not read successfully yet: the agents they listed before are neither dropped nor retired. */
  unknown: ReadonlySet<string>;
  now: number;
  /** The leader's term: the writes are refused unless `c$leases` still records it. */
  term: number;
  graceMs: number;
  /** Checked right before the commit: still leading on our own clock. */
  leading: () => boolean;
}

export interface ReconcileResult {
  added: number;
  revived: number;
  dropped: number;
  retired: number;
  /** Owned agents whose settings, sources or labels changed. */
  updated: number;
  /** Listed by a source but registered by hand or by the front: left alone. */
  manual: number;
  /** Discovered agents not retired, by source (one agent counts for each source listing it). */
  bySource: Map<string, number>;
  /** Discovered agents now retired. */
  retiredTotal: number;
  /** Discovered agents not retired (an agent listed by two sources counts once). */
  active: number;
}

/** A discovery write refused: another leader's term is recorded in c$leases. */
export class DiscoveryFencedError extends Error {
  constructor(ours: number, theirs: number) {
    super(`discovery writes of term ${ours} refused: term ${theirs} leads now`);
    this.name = 'DiscoveryFencedError';
  }
}

interface OwnedRow {
  agentId: number;
  host: string;
  port: number;
  pollIntervalS: number | null;
  useSsl: boolean;
  sources: string;
  labels: string;
  firstSeen: number;
  droppedAt: number | null;
  retiredAt: number | null;
}

/** Rows per multi-row statement (and per `(host, port) IN` lookup). */
const BATCH = 1000;

function chunks<T>(items: readonly T[], size = BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Labels as stored: JSON with sorted keys, so equal labels compare equal as text. */
function labelText(labels: Record<string, string>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/**
 * Brings `c$agents` in line with what the sources list, writing only what
 * differs, in one transaction fenced by the leader's term (the `c$leases` row
 * is share-locked and must still hold our term, so a new leader recording its
 * term waits for our commit and a deposed one's writes are refused).
 *
 * Ownership is `agt$discovery`: an agent is discovery's when it has a row
 * there. A listed agent not yet in `c$agents` is added with a row; one that
 * is in `c$agents` without a row (by hand, by the front) is left alone. An
 * owned agent no source lists gets `dropped_at`; after the grace period it is
 * retired (`retired_at`): it stays in `c$agents` (its poll history and cursor
 * are kept) but is no longer scheduled. Listed again, it is revived.
 */
export class DiscoveryReconciler {
  constructor(
    private readonly pool: Pool,
    /** The lease whose term fences the writes (`c$leases.name`, the coordinator's lease key). */
    private readonly leaseName: string,
  ) {}

  async reconcile(input: ReconcileInput): Promise<ReconcileResult> {
    const owned = await this.readOwned();
    const ownedByKey = new Map(owned.map((row) => [agentKey(row), row]));
    const candidates = [...input.desired.entries()].filter(([key]) => !ownedByKey.has(key)).map(([, agent]) => agent);
    const manual = await this.existing(this.pool, candidates);
    const fresh = candidates.filter((a) => !manual.has(agentKey(a)));

    const result: ReconcileResult = { added: 0, revived: 0, dropped: 0, retired: 0, updated: 0, manual: manual.size, bySource: new Map(), retiredTotal: 0, active: 0 };
    /** Owned rows to rewrite (agt$discovery), and agents whose settings change (c$agents). */
    const rows: OwnedRow[] = [];
    const settings: OwnedRow[] = [];
    for (const row of owned) {
      const want = input.desired.get(agentKey(row));
      if (want) {
        const next: OwnedRow = { ...row, sources: want.sources.join(' '), labels: labelText(want.labels), droppedAt: null, retiredAt: null };
        const ownershipChanged = row.retiredAt !== null || row.droppedAt !== null || row.sources !== next.sources || row.labels !== next.labels;
        const settingsChanged = row.pollIntervalS !== want.pollIntervalS || row.useSsl !== want.useSsl;
        if (ownershipChanged) rows.push(next);
        if (settingsChanged) settings.push({ ...next, pollIntervalS: want.pollIntervalS, useSsl: want.useSsl });
        if (row.retiredAt !== null) result.revived += 1;
        else if (ownershipChanged || settingsChanged) result.updated += 1;
        for (const source of want.sources) result.bySource.set(source, (result.bySource.get(source) ?? 0) + 1);
        continue;
      }
      if (row.retiredAt !== null) {
        result.retiredTotal += 1;
        continue;
      }
      // A source not read yet may still list it: wait for it rather than retire a fleet at start-up.
      if (row.sources.split(' ').some((source) => input.unknown.has(source))) {
        for (const source of row.sources.split(' ')) result.bySource.set(source, (result.bySource.get(source) ?? 0) + 1);
        continue;
      }
      if (row.droppedAt === null) {
        rows.push({ ...row, droppedAt: input.now });
        result.dropped += 1;
      } else if (input.now - row.droppedAt >= input.graceMs) {
        rows.push({ ...row, retiredAt: input.now });
        result.retired += 1;
        result.retiredTotal += 1;
        continue;
      }
      for (const source of row.sources.split(' ')) result.bySource.set(source, (result.bySource.get(source) ?? 0) + 1);
    }
    result.active = owned.length - result.retiredTotal;
    if (fresh.length === 0 && rows.length === 0 && settings.length === 0) return result;

    result.added = await withTransaction(this.pool, async (conn) => {
      await this.fence(conn, input.term);
      const added = await this.insert(conn, fresh, input);
      for (const batch of chunks(settings)) {
        // Both unique keys (id, host+port) name the same row: an upsert that only ever updates.
        await conn.query(
          'INSERT INTO `c$agents` (id, host, port, pool_freq, use_ssl) VALUES ? ON DUPLICATE KEY UPDATE pool_freq = VALUES(pool_freq), use_ssl = VALUES(use_ssl)',
          [batch.map((r) => [r.agentId, r.host, r.port, r.pollIntervalS, r.useSsl ? 1 : 0])],
        );
      }
      for (const batch of chunks(rows)) {
        await conn.query(
          'INSERT INTO `agt$discovery` (agent_id, sources, labels, first_seen, dropped_at, retired_at, term) VALUES ? ' +
            'ON DUPLICATE KEY UPDATE sources = VALUES(sources), labels = VALUES(labels), dropped_at = VALUES(dropped_at), retired_at = VALUES(retired_at), term = VALUES(term)',
          [batch.map((r) => [r.agentId, r.sources, r.labels, r.firstSeen, r.droppedAt, r.retiredAt, input.term])],
        );
      }
      if (!input.leading()) throw new Error(`lease of term ${input.term} lost during discovery: nothing written`);
      return added;
    });
    for (const agent of fresh) for (const source of agent.sources) result.bySource.set(source, (result.bySource.get(source) ?? 0) + 1);
    // Some may have been registered by hand meanwhile (found by the locked re-check): those are manual, not added.
    result.manual += fresh.length - result.added;
    result.active = owned.length - result.retiredTotal + result.added;
    return result;
  }

  private async readOwned(): Promise<OwnedRow[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT d.agent_id, a.host, a.port, a.pool_freq, a.use_ssl, d.sources, d.labels, d.first_seen, d.dropped_at, d.retired_at ' +
        'FROM `agt$discovery` d JOIN `c$agents` a ON a.id = d.agent_id',
    );
    return rows.map((r) => ({
      agentId: Number(r.agent_id),
      host: String(r.host),
      port: Number(r.port),
      pollIntervalS: r.pool_freq === null ? null : Number(r.pool_freq),
      useSsl: Boolean(r.use_ssl),
      sources: String(r.sources),
      labels: String(r.labels ?? '{}'),
      firstSeen: Number(r.first_seen),
      droppedAt: r.dropped_at === null ? null : Number(r.dropped_at),
      retiredAt: r.retired_at === null ? null : Number(r.retired_at),
    }));
  }

  /** Keys of the agents already in c$agents (`forUpdate`: locked, gaps included, until the transaction ends). */
  private async existing(conn: Pool | PoolConnection, agents: readonly DesiredAgent[], forUpdate = false): Promise<Set<string>> {
    const found = new Set<string>();
    for (const batch of chunks(agents)) {
      const [rows] = await conn.query<RowDataPacket[]>(
        `SELECT host, port FROM \`c$agents\` WHERE (host, port) IN (?)${forUpdate ? ' FOR UPDATE' : ''}`,
        [batch.map((a) => [a.host, a.port])],
      );
      for (const r of rows) found.add(agentKey({ host: String(r.host), port: Number(r.port) }));
    }
    return found;
  }

  /** Adds the agents still absent (re-checked under lock: the front may have added one meanwhile) with their ownership rows. */
  private async insert(conn: PoolConnection, agents: readonly DesiredAgent[], input: ReconcileInput): Promise<number> {
    let added = 0;
    for (const batch of chunks(agents)) {
      const taken = await this.existing(conn, batch, true);
      const absent = batch.filter((a) => !taken.has(agentKey(a)));
      if (absent.length === 0) continue;
      await conn.query('INSERT INTO `c$agents` (host, port, pool_freq, use_ssl) VALUES ?', [absent.map((a) => [a.host, a.port, a.pollIntervalS, a.useSsl ? 1 : 0])]);
      const [ids] = await conn.query<RowDataPacket[]>('SELECT id, host, port FROM `c$agents` WHERE (host, port) IN (?)', [absent.map((a) => [a.host, a.port])]);
      const byKey = new Map(absent.map((a) => [agentKey(a), a]));
      await conn.query('INSERT INTO `agt$discovery` (agent_id, sources, labels, first_seen, term) VALUES ?', [
        ids.map((r) => {
          const agent = byKey.get(agentKey({ host: String(r.host), port: Number(r.port) }))!;
          return [Number(r.id), agent.sources.join(' '), labelText(agent.labels), input.now, input.term];
        }),
      ]);
      added += absent.length;
    }
    return added;
  }

  /** Share-locks the lease's term row for the transaction and refuses a term that is no longer the recorded one. */
  private async fence(conn: PoolConnection, term: number): Promise<void> {
    const [rows] = await conn.query<RowDataPacket[]>('SELECT term FROM `c$leases` WHERE name = ? LOCK IN SHARE MODE', [this.leaseName]);
    const recorded = rows.length ? Number(rows[0].term) : 0;
    if (recorded !== term) throw new DiscoveryFencedError(term, recorded);
  }
}
