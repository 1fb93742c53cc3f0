import type { Logger } from '../logger.js';
import { MigrationError } from '../errors.js';
import { createMysqlConnection, mysqlDatabaseName, parseMysqlUrl, type Connection, type RowDataPacket } from '../mysql.js';
import { type MigrationFile, readMigrationFiles } from './migration-files.js';

/** The ledger of applied migrations, one row per file. */
export const MIGRATION_LEDGER = 'c$schema_migrations';

export interface MigratorOptions {
  mysqlUrl: string;
  migrationsDir?: string;
  logger?: Logger;
  /** How long to wait for another `migrate` holding the lock. */
  lockTimeoutSeconds?: number;
}

export interface MigrationStatus {
  version: number;
  name: string;
  state: 'applied' | 'pending' | 'edited' | 'missing-file';
  appliedAt?: string;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: number;
}

interface LedgerRow extends RowDataPacket {
  version: number;
  name: string;
  checksum: string;
  applied_at: string;
}

/**
 * Applies numbered SQL files once each, in order. A named lock makes two
 * concurrent runs safe (the second waits, then finds nothing to do); a
 * checksum per applied file refuses edits of history.
 */
export class Migrator {
  private readonly files: MigrationFile[];

  constructor(private readonly options: MigratorOptions) {
    this.files = readMigrationFiles(options.migrationsDir);
  }

  async migrate(): Promise<MigrateResult> {
    await this.createDatabase();
    const conn = await createMysqlConnection(this.options.mysqlUrl, { multipleStatements: true });
    const lockName = `watched_migrate_${mysqlDatabaseName(this.options.mysqlUrl)}`.slice(0, 64);
    try {
      const [[lock]] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS got', [
        lockName,
        this.options.lockTimeoutSeconds ?? 120,
      ]);
      if (lock.got !== 1) throw new MigrationError(`another migrate holds the lock ${lockName}; try again`);
      try {
        await this.ensureLedger(conn);
        const ledger = await this.readLedger(conn);
        this.checkHistory(ledger);
        const applied: string[] = [];
        for (const file of this.files) {
          if (ledger.has(file.version)) continue;
          await this.apply(conn, file);
          applied.push(file.name);
        }
        return { applied, alreadyApplied: this.files.length - applied.length };
      } finally {
        await conn.query('SELECT RELEASE_LOCK(?)', [lockName]);
      }
    } finally {
      await conn.end();
    }
  }

  async status(): Promise<MigrationStatus[]> {
    const conn = await createMysqlConnection(this.options.mysqlUrl).catch((err: { code?: string }) => {
      if (err.code === 'ER_BAD_DB_ERROR') return undefined;
      throw err;
    });
    const ledger = conn ? await this.readLedger(conn).finally(() => conn.end()) : new Map<number, LedgerRow>();
    const result: MigrationStatus[] = this.files.map((file) => {
      const row = ledger.get(file.version);
      if (!row) return { version: file.version, name: file.name, state: 'pending' };
      return {
        version: file.version,
        name: file.name,
        state: row.checksum === file.checksum ? 'applied' : 'edited',
        appliedAt: row.applied_at,
      };
    });
    for (const row of ledger.values()) {
      if (!this.files.some((f) => f.version === row.version)) {
        result.push({ version: row.version, name: row.name, state: 'missing-file', appliedAt: row.applied_at });
      }
    }
    return result.sort((a, b) => a.version - b.version);
  }

  private async createDatabase(): Promise<void> {
    const database = mysqlDatabaseName(this.options.mysqlUrl);
    const { host, port, user } = parseMysqlUrl(this.options.mysqlUrl);
    const serverUrl = new URL(this.options.mysqlUrl);
    serverUrl.pathname = '/';
    const conn = await createMysqlConnection(serverUrl.toString());
    try {
      await conn.query(
        `CREATE DATABASE IF NOT EXISTS \`${database.replace(/`/g, '``')}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
      );
    } catch (err) {
      throw new MigrationError(`cannot create database ${database} on ${user}@${host}:${port}: ${(err as Error).message}`);
    } finally {
      await conn.end();
    }
  }

  private async ensureLedger(conn: Connection): Promise<void> {
    await conn.query(`CREATE TABLE IF NOT EXISTS \`${MIGRATION_LEDGER}\` (
      version INT NOT NULL PRIMARY KEY,
      name VARCHAR(255) NOT NULL,
      checksum CHAR(64) NOT NULL,
      applied_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
      duration_ms INT NOT NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
  }

  private async readLedger(conn: Connection): Promise<Map<number, LedgerRow>> {
    try {
      const [rows] = await conn.query<LedgerRow[]>(
        `SELECT version, name, checksum, applied_at FROM \`${MIGRATION_LEDGER}\` ORDER BY version`,
      );
      return new Map(rows.map((r) => [r.version, r]));
    } catch (err) {
      if ((err as { code?: string }).code === 'ER_NO_SUCH_TABLE') return new Map();
      throw err;
    }
  }

  /** Refuses to go on when an applied file was edited: the database would not match the files. */
  private checkHistory(ledger: Map<number, LedgerRow>): void {
    for (const file of this.files) {
      const row = ledger.get(file.version);
      if (row && row.checksum !== file.checksum) {
        throw new MigrationError(
          `migration ${file.name} was edited after it was applied on ${row.applied_at} ` +
            `(checksum ${row.checksum.slice(0, 12)} in the database, ${file.checksum.slice(0, 12)} on disk); ` +
            `add a new numbered file instead of changing an applied one`,
        );
      }
    }
  }

  private async apply(conn: Connection, file: MigrationFile): Promise<void> {
    const started = Date.now();
    this.options.logger?.info(`applying migration ${file.name}`);
    try {
      await conn.query(file.sql);
    } catch (err) {
      throw new MigrationError(`migration ${file.name} failed: ${(err as Error).message}`);
    }
    await conn.query(`INSERT INTO \`${MIGRATION_LEDGER}\` (version, name, checksum, duration_ms) VALUES (?, ?, ?, ?)`, [
      file.version,
      file.name,
      file.checksum,
      Date.now() - started,
    ]);
  }
}
