import { escape } from 'mysql2';
import type { Logger } from '../logger.js';
import { MigrationError } from '../errors.js';
import { FrontAdminSeed, type FrontAdminSeedResult } from '../front/front-admin-seed.js';
import { compileMysqlConnection, withDatabase, type MysqlConnectionOptions } from '../config/mysql-connection-options.js';
import { createMysqlConnection, mysqlDatabaseName, type Connection, type MysqlTarget, type RowDataPacket } from '../mysql.js';
import { type MigrationFile, readMigrationFiles } from './migration-files.js';
import { quoteName } from './schema-catalog.js';
import { detectDatabase, type DatabaseKind } from './upstream-detector.js';
import { UpstreamUpgrade } from './upstream-upgrade.js';

/** The ledger of applied migrations, one row per file. */
export const MIGRATION_LEDGER = 'c$schema_migrations';

export interface MigratorOptions {
  /** The database to migrate (created on its server if missing). */
  mysql: MysqlTarget;
  migrationsDir?: string;
  logger?: Logger;
  /** How long to wait for another `migrate` holding the lock. */
  lockTimeoutSeconds?: number;
  /** The password of the front's admin user if this run creates it; generated when absent. */
  frontAdminPassword?: string;
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
  /** What the database was before this run ('watched-back' when it was upgraded in place). */
  kind: DatabaseKind | 'missing';
  /** What the post-migration seed did with the front's admin user (a generated password is to be shown once). */
  frontAdmin: FrontAdminSeedResult;
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

  private readonly mysql: MysqlConnectionOptions;

  constructor(private readonly options: MigratorOptions) {
    this.files = readMigrationFiles(options.migrationsDir);
    this.mysql = typeof options.mysql === 'string' ? compileMysqlConnection(options.mysql) : options.mysql;
  }

  async migrate(): Promise<MigrateResult> {
    const existed = await this.databaseExists();
    await this.createDatabase();
    const database = mysqlDatabaseName(this.mysql);
    const conn = await createMysqlConnection(this.mysql, { multipleStatements: true });
    const lockName = `watched_migrate_${database}`.slice(0, 64);
    try {
      const [[lock]] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS got', [
        lockName,
        this.options.lockTimeoutSeconds ?? 120,
      ]);
      if (lock.got !== 1) throw new MigrationError(`another migrate holds the lock ${lockName}; try again`);
      try {
        const { kind } = await detectDatabase(conn, database);
        const upgrade = await this.upgradeFor(conn, kind);
        if (upgrade) {
          this.options.logger?.info(
            kind === 'watched-back'
              ? `database ${database} was written by watched.back: converting it in place (rows are kept; see docs/upgrading.md)`
              : `database ${database}: resuming the unfinished upgrade from watched.back`,
          );
          await upgrade.convert();
        } else if (kind === 'foreign') {
          this.options.logger?.warn(`database ${database} holds tables that are neither watched's nor watched.back's; applying migrations beside them`);
        }
        await this.ensureLedger(conn);
        const ledger = await this.readLedger(conn);
        this.checkHistory(ledger);
        const applied: string[] = [];
        for (const file of this.files) {
          if (ledger.has(file.version)) continue;
          await this.apply(conn, file);
          applied.push(file.name);
        }
        if (upgrade) {
          await upgrade.finish();
          this.options.logger?.info(`database ${database}: upgrade from watched.back finished (record in c$upgrade_log, rows set aside in c$upgrade_quarantine)`);
        }
        const frontAdmin = await this.frontAdminSeed(conn).run();
        return { applied, alreadyApplied: this.files.length - applied.length, kind: existed ? kind : 'missing', frontAdmin };
      } finally {
        await conn.query('SELECT RELEASE_LOCK(?)', [lockName]);
      }
    } finally {
      await conn.end();
    }
  }

  /**
   * What `migrate()` would run, as SQL text, changing nothing in the
   * database: for a watched.back database the conversion statements (they
   * are computed against a scratch copy of our schema, `<db>_wref`, created
   * and dropped on the same server), then the pending migration files, then
   * the rollup backfill it would do.
   */
  async plan(): Promise<string[]> {
    const database = mysqlDatabaseName(this.mysql);
    const lines: string[] = [];
    if (!(await this.databaseExists())) {
      lines.push(`-- database ${database} does not exist: it is created, then every migration runs`);
      lines.push(`CREATE DATABASE IF NOT EXISTS ${quoteName(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;`);
      for (const file of this.files) lines.push(`-- apply ${file.name}`, file.sql.trimEnd());
      lines.push(FrontAdminSeed.describe(this.options.frontAdminPassword !== undefined));
      return lines;
    }
    const conn = await createMysqlConnection(this.mysql);
    try {
      const { kind } = await detectDatabase(conn, database);
      const upgrade = await this.upgradeFor(conn, kind);
      if (upgrade) {
        lines.push(`-- database ${database} was written by watched.back${kind === 'upgrade-unfinished' ? ' (upgrade started, not finished)' : ''}: in-place conversion`);
        const plan = await upgrade.plan();
        for (const host of plan.duplicateHosts) {
          lines.push(`-- h$hosts ${host.id} '${host.name}' differs from host ${host.keptId} only by case: renamed`, `UPDATE \`h$hosts\` SET name = ${escape(host.newName)} WHERE id = ${host.id};`);
        }
        for (const q of plan.quarantine) {
          lines.push(`-- ${q.table}: ${q.rows} row(s) ${q.reason}: set aside (${q.action})`, ...q.statements.map((s) => `${s};`));
        }
        for (const change of plan.changes) {
          lines.push(`-- ${change.table}${change.retyped.length ? `: ${change.retyped.join(', ')}` : ''}`, `${change.statement};`);
        }
        for (const s of plan.skipped) lines.push(`-- ${s.table}: ${s.reason}`);
      }
      const ledger = await this.readLedger(conn);
      const pending = this.files.filter((f) => !ledger.has(f.version));
      if (pending.length === 0 && !upgrade) lines.push(`-- database ${database} is up to date: nothing to do`);
      for (const file of pending) lines.push(`-- apply ${file.name}`, file.sql.trimEnd());
      if (upgrade) lines.push('-- after the migrations: old rollup rows get counts, each level a watermark', ...UpstreamUpgrade.describeFinish());
      lines.push(...(await this.frontAdminSeed(conn).plan()));
      return lines;
    } finally {
      await conn.end();
    }
  }

  /**
   * The upgrade, when `kind` calls for one. Its reference shape is what the
   * migrations applied so far produce: 0001 alone before any ran, all the
   * recorded ones when an interrupted upgrade is resumed after them (so it
   * never undoes what 0002+ added).
   */
  private async upgradeFor(conn: Connection, kind: DatabaseKind): Promise<UpstreamUpgrade | undefined> {
    if (kind !== 'watched-back' && kind !== 'upgrade-unfinished') return undefined;
    const ledger = await this.readLedger(conn);
    const reference = ledger.size ? this.files.filter((f) => ledger.has(f.version)) : this.files.filter((f) => f.version === 1);
    if (!reference.some((f) => f.version === 1)) {
      throw new MigrationError('the upgrade from watched.back needs migration 0001 (the upstream schema) in the migrations folder');
    }
    return new UpstreamUpgrade(conn, {
      mysql: this.mysql,
      database: mysqlDatabaseName(this.mysql),
      referenceSql: reference.map((f) => f.sql),
      logger: this.options.logger,
    });
  }

  /** Runs after the migrations (and an upgrade's finish, so its row counts compare the migrations' work only). */
  private frontAdminSeed(conn: Connection): FrontAdminSeed {
    return new FrontAdminSeed(conn, { password: this.options.frontAdminPassword, logger: this.options.logger });
  }

  private async databaseExists(): Promise<boolean> {
    const conn = await createMysqlConnection(this.mysql).catch((err: { code?: string }) => {
      if (err.code === 'ER_BAD_DB_ERROR') return undefined;
      throw err;
    });
    await conn?.end();
    return conn !== undefined;
  }

  async status(): Promise<MigrationStatus[]> {
    const conn = await createMysqlConnection(this.mysql).catch((err: { code?: string }) => {
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
    const database = mysqlDatabaseName(this.mysql);
    const [{ host, port }] = this.mysql.hosts;
    const user = this.mysql.user;
    const conn = await createMysqlConnection(withDatabase(this.mysql, undefined));
    try {
      await conn.query(
        `CREATE DATABASE IF NOT EXISTS ${quoteName(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
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
