import type { Pool, PoolConnection } from '@watched/core';

/**
 * Runs `work` in a READ COMMITTED transaction: INSERT ... SELECT then reads
 * its source without shared locks (under REPEATABLE READ InnoDB would lock
 * the d$ range and make ingestion wait for the rollup).
 */
export async function inReadCommittedTransaction<T>(pool: Pool, work: (conn: PoolConnection) => Promise<T>): Promise<T> {
  const conn = await pool.getConnection();
  try {
    await conn.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
    await conn.beginTransaction();
    const result = await work(conn);
    await conn.commit();
    return result;
  } catch (err) {
    await conn.rollback().catch(() => undefined);
    throw err;
  } finally {
    conn.release();
  }
}
