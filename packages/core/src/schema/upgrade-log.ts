import type { Connection, RowDataPacket } from '../mysql.js';
import { UPGRADE_LOG_TABLE } from './upstream-detector.js';

/** Rows the upgrade took out of a table (orphans, duplicate keys), kept whole as JSON. */
export const QUARANTINE_TABLE = 'c$upgrade_quarantine';

export type UpgradeStep =
  /** Row count of a table before anything changed. */
  | 'baseline'
  /** An ALTER TABLE ran. */
  | 'convert'
  /** Rows moved to the quarantine table. */
  | 'quarantine'
  /** A host renamed because another differs only by case. */
  | 'duplicate-host'
  /** Rows kept as they are but worth knowing (zero-length events, extra columns...). */
  | 'note'
  /** Rollup counts derived, watermarks set. */
  | 'rollups'
  /** Row count of a table after the upgrade. */
  | 'after'
  | 'finished';

/**
 * The upgrade's record in the database itself (`c$upgrade_log`): the
 * baseline row counts, every statement run, every row set aside. It tells a
 * half-done upgrade from a finished one, and an operator what happened.
 * Both tables exist only in upgraded databases.
 */
export class UpgradeLog {
  constructor(private readonly conn: Connection) {}

  async create(): Promise<void> {
    await this.conn.query(`CREATE TABLE IF NOT EXISTS \`${UPGRADE_LOG_TABLE}\` (
      id          INT UNSIGNED NOT NULL AUTO_INCREMENT,
      step        VARCHAR(32) NOT NULL,
      table_name  VARCHAR(64) NULL,
      row_count   BIGINT NULL,
      detail      MEDIUMTEXT NULL,
      duration_ms INT UNSIGNED NULL,
      at          DOUBLE NOT NULL,
      PRIMARY KEY (id),
      KEY upgrade_log_step_i (step, table_name)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
    await this.conn.query(`CREATE TABLE IF NOT EXISTS \`${QUARANTINE_TABLE}\` (
      id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      table_name  VARCHAR(64) NOT NULL,
      reason      VARCHAR(255) NOT NULL,
      row_data    LONGTEXT NOT NULL,
      moved_at    DOUBLE NOT NULL,
      PRIMARY KEY (id),
      KEY upgrade_quarantine_table_i (table_name)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
  }

  async record(step: UpgradeStep, table: string | null, detail: string | null, rowCount: number | null = null, durationMs: number | null = null): Promise<void> {
    await this.conn.query(
      `INSERT INTO \`${UPGRADE_LOG_TABLE}\` (step, table_name, row_count, detail, duration_ms, at) VALUES (?, ?, ?, ?, ?, ?)`,
      [step, table, rowCount, detail, durationMs === null ? null : Math.round(durationMs), Date.now()],
    );
  }

  /** Whether a step was recorded (for `table`, when given): resumes skip what is done. */
  async has(step: UpgradeStep, table?: string): Promise<boolean> {
    const [rows] = await this.conn.query<RowDataPacket[]>(
      `SELECT 1 FROM \`${UPGRADE_LOG_TABLE}\` WHERE step = ?${table === undefined ? '' : ' AND table_name = ?'} LIMIT 1`,
      table === undefined ? [step] : [step, table],
    );
    return rows.length > 0;
  }
}
