import type { Pool, PoolConnection, RollupLevelName, RowDataPacket } from '@watched/core';

/** A write was refused because a newer aggregator term already wrote this level. */
export class FencedError extends Error {
  constructor(
    readonly dataType: string,
    readonly level: RollupLevelName,
    readonly ourTerm: number,
    readonly theirTerm: number,
  ) {
    super(`rollup ${level}$${dataType} belongs to term ${theirTerm}; term ${ourTerm} may no longer write it`);
    this.name = 'FencedError';
  }
}

/**
 * Watermarks in `c$rollup_watermarks`: every bucket of a level that starts
 * before the watermark is rolled up. Written only inside the transaction of
 * the rows it covers, after `lock()` checked the fencing token.
 */
export class Watermarks {
  constructor(private readonly pool: Pool) {}

  /** Every watermark, keyed `<data_type>/<level>`. */
  async all(): Promise<Map<string, number>> {
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT data_type, level, watermark FROM `c$rollup_watermarks`');
    return new Map(rows.map((r) => [`${r.data_type}/${r.level}`, Number(r.watermark)]));
  }

  async get(dataType: string, level: RollupLevelName, conn: Pool | PoolConnection = this.pool): Promise<number | undefined> {
    const [rows] = await conn.query<RowDataPacket[]>(
      'SELECT watermark FROM `c$rollup_watermarks` WHERE data_type = ? AND level = ?',
      [dataType, level],
    );
    return rows.length ? Number(rows[0].watermark) : undefined;
  }

  /**
   * Locks the watermark row (or its gap) for the transaction on `conn` and
   * refuses a term older than the one that last wrote it. Returns the
   * watermark, if any.
   */
  async lock(conn: PoolConnection, dataType: string, level: RollupLevelName, term: number): Promise<number | undefined> {
    const [rows] = await conn.query<RowDataPacket[]>(
      'SELECT watermark, term FROM `c$rollup_watermarks` WHERE data_type = ? AND level = ? FOR UPDATE',
      [dataType, level],
    );
    if (rows.length === 0) return undefined;
    const theirs = Number(rows[0].term);
    if (theirs > term) throw new FencedError(dataType, level, term, theirs);
    return Number(rows[0].watermark);
  }

  /** Sets the watermark (never backwards) and stamps our term; call after `lock()` on the same transaction. */
  async set(conn: PoolConnection, dataType: string, level: RollupLevelName, watermark: number, term: number, now: number): Promise<void> {
    await conn.query(
      `INSERT INTO \`c$rollup_watermarks\` (data_type, level, watermark, term, updated_at) VALUES (?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE watermark = GREATEST(watermark, VALUES(watermark)), term = VALUES(term), updated_at = VALUES(updated_at)`,
      [dataType, level, watermark, term, now],
    );
  }

  /** The highest term that ever wrote a watermark: the lease never hands out a lower one. */
  async maxTerm(): Promise<number> {
    const [[row]] = await this.pool.query<RowDataPacket[]>('SELECT COALESCE(MAX(term), 0) AS term FROM `c$rollup_watermarks`');
    return Number(row.term);
  }
}
