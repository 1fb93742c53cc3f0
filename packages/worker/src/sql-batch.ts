import { quoteIdentifier, type PoolConnection, type Pool } from '@watched/core';

export type SqlValue = string | number | null;

export interface BatchInsert {
  table: string;
  columns: string[];
  rows: SqlValue[][];
  /**
   * `ignore`: keep the stored row (natural-key dedup, e.g. log lines);
   * `upsert`: overwrite `updateColumns` with the new values.
   */
  mode: 'ignore' | 'upsert';
  updateColumns?: string[];
}

/**
 * Writes rows in multi-row statements of at most `batchRows` rows. Uses
 * `query` (client-side escaping), not `execute`: a prepared statement per
 * distinct placeholder count would pile up on the server.
 */
export async function insertBatched(db: PoolConnection | Pool, insert: BatchInsert, batchRows: number): Promise<number> {
  if (insert.rows.length === 0) return 0;
  const columns = insert.columns.map(quoteIdentifier).join(', ');
  const rowPlaceholder = `(${insert.columns.map(() => '?').join(', ')})`;
  const update =
    insert.mode === 'upsert' && (insert.updateColumns ?? []).length > 0
      ? ' ON DUPLICATE KEY UPDATE ' +
        insert.updateColumns!.map((c) => `${quoteIdentifier(c)} = VALUES(${quoteIdentifier(c)})`).join(', ')
      : '';
  const verb = insert.mode === 'ignore' || !update ? 'INSERT IGNORE' : 'INSERT';
  let affected = 0;
  for (let start = 0; start < insert.rows.length; start += batchRows) {
    const chunk = insert.rows.slice(start, start + batchRows);
    const sql = `${verb} INTO ${quoteIdentifier(insert.table)} (${columns}) VALUES ${chunk.map(() => rowPlaceholder).join(', ')}${update}`;
    const [result] = await db.query(sql, chunk.flat());
    affected += (result as { affectedRows: number }).affectedRows;
  }
  return affected;
}
