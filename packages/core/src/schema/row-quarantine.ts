import { escape } from 'mysql2';
import { inTransaction, type Connection, type ResultSetHeader, type RowDataPacket } from '../mysql.js';
import { quoteName, type ForeignKeyInfo, type TableInfo } from './schema-catalog.js';
import { QUARANTINE_TABLE } from './upgrade-log.js';

/** A set of rows a constraint we add would refuse, and what the upgrade does with them. */
export interface QuarantineFinding {
  table: string;
  reason: string;
  rows: number;
  /** `moved`: copied to the quarantine table and removed; `nulled`: copied, and the reference set to NULL (what ON DELETE SET NULL does). */
  action: 'moved' | 'nulled' | 'kept-one';
  statements: string[];
}

/**
 * Finds the rows a new key or foreign key would refuse and sets them aside
 * in `c$upgrade_quarantine` (the whole row as JSON, the table and reason),
 * so that nothing is deleted without a copy and a report. Callers run it
 * with foreign_key_checks = 0, so removing a row never cascades silently:
 * its own children are found as orphans in the next round.
 */
export class RowQuarantine {
  constructor(private readonly conn: Connection) {}

  /** Child rows whose (non-NULL) reference has no parent row. */
  async orphans(table: TableInfo, fk: ForeignKeyInfo, parentExists: boolean, execute: boolean): Promise<QuarantineFinding | undefined> {
    if (!parentExists) return undefined;
    const t = quoteName(table.name);
    const where =
      fk.columns.map((c) => `c.${quoteName(c)} IS NOT NULL`).join(' AND ') +
      ` AND NOT EXISTS (SELECT 1 FROM ${quoteName(fk.refTable)} p WHERE ` +
      fk.columns.map((c, i) => `p.${quoteName(fk.refColumns[i])} = c.${quoteName(c)}`).join(' AND ') +
      ')';
    const [[{ n }]] = await this.conn.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${t} c WHERE ${where}`);
    if (Number(n) === 0) return undefined;
    const nullable = fk.onDelete === 'SET NULL' && fk.columns.every((c) => table.columns.find((col) => col.name === c)?.nullable);
    const reason = `orphan: ${fk.columns.join(', ')} not in ${fk.refTable} (${fk.name})`;
    const statements = [this.copySql(table, where, reason)];
    statements.push(
      nullable
        ? `UPDATE ${t} c SET ${fk.columns.map((col) => `c.${quoteName(col)} = NULL`).join(', ')} WHERE ${where}`
        : `DELETE c FROM ${t} c WHERE ${where}`,
    );
    if (execute) await this.run(statements);
    return { table: table.name, reason, rows: Number(n), action: nullable ? 'nulled' : 'moved', statements };
  }

  /** Rows with NULL in a column that becomes NOT NULL (a key column of a half-created table). */
  async nullKeys(table: TableInfo, columns: string[], execute: boolean): Promise<QuarantineFinding | undefined> {
    if (columns.length === 0) return undefined;
    const where = columns.map((c) => `c.${quoteName(c)} IS NULL`).join(' OR ');
    const [[{ n }]] = await this.conn.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${quoteName(table.name)} c WHERE ${where}`);
    if (Number(n) === 0) return undefined;
    const reason = `NULL in ${columns.join(', ')}, which become NOT NULL`;
    const statements = [this.copySql(table, where, reason), `DELETE c FROM ${quoteName(table.name)} c WHERE ${where}`];
    if (execute) await this.run(statements);
    return { table: table.name, reason, rows: Number(n), action: 'moved', statements };
  }

  /**
   * Rows sharing a primary key the table is about to get (a rollup table
   * whose key upstream failed to add): every copy is saved, then one copy
   * per key is kept in the table. (Not ALTER IGNORE: on MariaDB 10.11 it
   * also dropped an unrelated row in our test.)
   */
  async duplicateKeys(table: TableInfo, key: string[], execute: boolean): Promise<QuarantineFinding | undefined> {
    const cols = key.map(quoteName).join(', ');
    const dupes = `SELECT ${cols} FROM ${quoteName(table.name)} GROUP BY ${cols} HAVING COUNT(*) > 1`;
    const [[{ n, copies }]] = await this.conn.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n, SUM(k) AS copies FROM (SELECT COUNT(*) AS k FROM ${quoteName(table.name)} GROUP BY ${cols} HAVING COUNT(*) > 1) d`,
    );
    if (Number(n) === 0) return undefined;
    const where = `(${key.map((k) => `c.${quoteName(k)}`).join(', ')}) IN (${dupes})`;
    const reason = `${n} duplicate (${key.join(', ')}) key(s), ${copies} copies: all saved here, one per key kept in the table`;
    const keep = quoteName(`tmp_upgrade_keep`);
    const statements = [
      this.copySql(table, where, reason),
      `CREATE TEMPORARY TABLE ${keep} AS SELECT c.* FROM ${quoteName(table.name)} c WHERE ${where} GROUP BY ${key.map((k) => `c.${quoteName(k)}`).join(', ')}`,
      `DELETE c FROM ${quoteName(table.name)} c JOIN ${keep} k ON ${key.map((k) => `k.${quoteName(k)} = c.${quoteName(k)}`).join(' AND ')}`,
      `INSERT INTO ${quoteName(table.name)} SELECT * FROM ${keep}`,
      `DROP TEMPORARY TABLE ${keep}`,
    ];
    if (execute) await this.run(statements);
    // rows = copies removed from the table
    return { table: table.name, reason, rows: Number(copies) - Number(n), action: 'kept-one', statements };
  }

  private copySql(table: TableInfo, where: string, reason: string): string {
    const json = `JSON_OBJECT(${table.columns.map((c) => `${escape(c.name)}, c.${quoteName(c.name)}`).join(', ')})`;
    return (
      `INSERT INTO \`${QUARANTINE_TABLE}\` (table_name, reason, row_data, moved_at) ` +
      `SELECT ${escape(table.name)}, ${escape(reason)}, ${json}, UNIX_TIMESTAMP(NOW(3)) * 1000 ` +
      `FROM ${quoteName(table.name)} c WHERE ${where}`
    );
  }

  private async run(statements: string[]): Promise<void> {
    await inTransaction(this.conn, async () => {
      for (const sql of statements) await this.conn.query<ResultSetHeader>(sql);
    });
  }
}
