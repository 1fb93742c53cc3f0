import mysql from 'mysql2';
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
  /**
   * An upsert whose `updateColumns` are every column but the key, into a
   * table no other table references: replacing the stored row is the same
   * as updating it, so it may be loaded with LOAD DATA ... REPLACE
   * (`d$` rows). Columns of the table not named here would be reset to
   * their default by a REPLACE: set this only when there are none that
   * matter.
   */
  replaceable?: boolean;
}

/** One value as SQL text: numbers as JavaScript prints them (shortest exact form), as mysql2's own escaping does. */
function literal(value: SqlValue): string {
  if (typeof value === 'number') return String(value);
  if (value === null || value === undefined) return 'NULL';
  return mysql.escape(value);
}

/**
 * Writes rows in multi-row statements of at most `batchRows` rows. The
 * statement text is built here, row by row, rather than by mysql2's
 * placeholder substitution (a scan of a statement with tens of thousands of
 * `?`). Not prepared statements, although the binary protocol halves the
 * CPU of both sides (measured): mysql2 keeps ~200 bytes per placeholder of
 * every statement it prepared, per connection, which took the worker's RSS
 * past 1 GB; and one statement per distinct row count would pile up on the
 * server.
 */
export async function insertBatched(db: PoolConnection | Pool, insert: BatchInsert, batchRows: number): Promise<void> {
  if (insert.rows.length === 0) return;
  const columns = insert.columns.map(quoteIdentifier).join(', ');
  const update =
    insert.mode === 'upsert' && (insert.updateColumns ?? []).length > 0
      ? ' ON DUPLICATE KEY UPDATE ' +
        insert.updateColumns!.map((c) => `${quoteIdentifier(c)} = VALUES(${quoteIdentifier(c)})`).join(', ')
      : '';
  const verb = insert.mode === 'ignore' || !update ? 'INSERT IGNORE' : 'INSERT';
  const head = `${verb} INTO ${quoteIdentifier(insert.table)} (${columns}) VALUES `;
  for (let start = 0; start < insert.rows.length; start += batchRows) {
    const end = Math.min(insert.rows.length, start + batchRows);
    // Appended value by value: no array per row and per statement (less garbage, measured ~10-25% faster).
    let sql = head;
    for (let i = start; i < end; i++) {
      const row = insert.rows[i];
      sql += i === start ? '(' : ',(';
      for (let j = 0; j < row.length; j++) sql += j === 0 ? literal(row[j]) : ',' + literal(row[j]);
      sql += ')';
    }
    await db.query(sql + update);
  }
}

/**
 * Joins inserts into one table with the same columns and mode (the polls of
 * several agents), so each table gets one multi-row statement; tables come
 * in name order, so concurrent transactions lock them in the same order.
 */
export function mergeInserts(inserts: BatchInsert[]): BatchInsert[] {
  const merged = new Map<string, BatchInsert>();
  for (const insert of inserts) {
    if (insert.rows.length === 0) continue;
    const key = [insert.table, insert.mode, insert.columns.join(','), (insert.updateColumns ?? []).join(',')].join('\n');
    const into = merged.get(key);
    if (!into) merged.set(key, { ...insert, rows: insert.rows.slice() });
    else for (const row of insert.rows) into.rows.push(row);
  }
  return [...merged.values()].sort((a, b) => (a.table < b.table ? -1 : a.table > b.table ? 1 : 0));
}
