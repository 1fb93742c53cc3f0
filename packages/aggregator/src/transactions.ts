import { withTransaction, type Pool, type PoolConnection } from '@watched/core';

/**
 * Runs `work` in a READ COMMITTED transaction (run again if it was a deadlock
 * victim): INSERT ... SELECT then reads its source without shared locks
 * (under REPEATABLE READ InnoDB would lock the d$ range and make ingestion
 * wait for the rollup).
 */
export function inReadCommittedTransaction<T>(pool: Pool, work: (conn: PoolConnection) => Promise<T>): Promise<T> {
  return withTransaction(pool, work, { isolation: 'READ COMMITTED' });
}
