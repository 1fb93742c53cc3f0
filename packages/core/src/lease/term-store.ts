import type { Pool, ResultSetHeader, RowDataPacket } from '../mysql.js';

/**
 * The highest term of a lease, kept in MySQL (`c$leases`, migration 0005) so
 * that terms never go back when Redis restarts empty: the lease takes
 * max(redis counter, `highest()`) + 1 and `record()`s the new term before
 * its holder acts. `record()` only moves the row forward, so it doubles as a
 * fence: a node that got a term no higher than the recorded one is refused.
 */
export class TermStore {
  constructor(
    private readonly pool: Pool,
    /** The lease's name, e.g. its Redis key `watched:leader`. */
    readonly name: string,
  ) {}

  /** The highest recorded term (0 when none). */
  async highest(): Promise<number> {
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT term FROM `c$leases` WHERE name = ?', [this.name]);
    return rows.length ? Number(rows[0].term) : 0;
  }

  /** Records `term` for `nodeId` if it is higher than every recorded term; returns whether it was. */
  async record(term: number, nodeId: string, now = Date.now()): Promise<boolean> {
    // affectedRows counts matched rows (mysql2 sets FOUND_ROWS): matched means our term is higher.
    const [updated] = await this.pool.query<ResultSetHeader>(
      'UPDATE `c$leases` SET term = ?, node_id = ?, acquired_at = ? WHERE name = ? AND term < ?',
      [term, nodeId, now, this.name, term],
    );
    if (updated.affectedRows > 0) return true;
    const [inserted] = await this.pool.query<ResultSetHeader>(
      'INSERT IGNORE INTO `c$leases` (name, term, node_id, acquired_at) VALUES (?, ?, ?, ?)',
      [this.name, term, nodeId, now],
    );
    return inserted.affectedRows > 0;
  }
}
