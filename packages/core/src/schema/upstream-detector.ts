import type { Connection, RowDataPacket } from '../mysql.js';

/** Our migration ledger (also exported by migrator.ts). */
const LEDGER = 'c$schema_migrations';
/** What the upgrade records: its steps and findings (see upgrade-log.ts). */
export const UPGRADE_LOG_TABLE = 'c$upgrade_log';
/** Tables every watched.back database has (sql/schema.sql of sebt3/watched.back, all versions). */
export const UPSTREAM_MARKER_TABLES = ['c$agents', 'c$ressources', 'h$hosts', 'h$ressources', 's$services'] as const;

export type DatabaseKind =
  /** No tables at all (or no database yet): plain migrations. */
  | 'empty'
  /** Our ledger is there and no upgrade is half done: plain migrations. */
  | 'watched'
  /** watched.back's tables and no ledger: upgrade in place, then migrations. */
  | 'watched-back'
  /** An upgrade started and did not finish (crash, error): resume it. */
  | 'upgrade-unfinished'
  /** Tables that are neither ours nor upstream's: refused, nothing is touched. */
  | 'foreign';

export interface DatabaseState {
  kind: DatabaseKind;
  tables: string[];
}

/**
 * Tells which kind of database `migrate` is looking at, from the table
 * names alone: upstream tables present and our ledger absent means a
 * database written by watched.back.
 */
export async function detectDatabase(conn: Connection, database: string): Promise<DatabaseState> {
  const [rows] = await conn.query<RowDataPacket[]>('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [database]);
  const tables = rows.map((r) => String(r.t));
  const has = new Set(tables);
  if (has.has(UPGRADE_LOG_TABLE)) {
    const [done] = await conn.query<RowDataPacket[]>(
      `SELECT 1 FROM \`${UPGRADE_LOG_TABLE}\` WHERE step = 'finished' LIMIT 1`,
    );
    if (done.length === 0) return { kind: 'upgrade-unfinished', tables };
  }
  if (has.has(LEDGER)) return { kind: 'watched', tables };
  if (tables.length === 0) return { kind: 'empty', tables };
  if (UPSTREAM_MARKER_TABLES.every((t) => has.has(t))) return { kind: 'watched-back', tables };
  return { kind: 'foreign', tables };
}
