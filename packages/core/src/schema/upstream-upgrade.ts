import type { MysqlConnectionOptions } from '../config/mysql-connection-options.js';
import type { Logger } from '../logger.js';
import type { Connection, RowDataPacket } from '../mysql.js';
import { findDuplicateHosts, renameHostSql, type DuplicateHost } from './duplicate-hosts.js';
import { DataTablePartitioner } from './data-table-partitioner.js';
import { resourceLinkTable } from './dynamic-table-shapes.js';
import { readPartitionedTables } from './partitioning.js';
import { buildReferenceCatalog, dynamicTableSpecs, type DynamicTableSpec } from './reference-schema.js';
import { RollupBackfill } from './rollup-backfill.js';
import { RowQuarantine, type QuarantineFinding } from './row-quarantine.js';
import { quoteName, readSchemaCatalog, type ForeignKeyInfo, type SchemaCatalog, type TableInfo } from './schema-catalog.js';
import { diffTable, type TableChange } from './table-diff.js';
import { QUARANTINE_TABLE, UpgradeLog } from './upgrade-log.js';
import { UPGRADE_LOG_TABLE } from './upstream-detector.js';

export interface UpstreamUpgradeOptions {
  /** The server and credentials, for the scratch reference database. */
  mysql: MysqlConnectionOptions;
  database: string;
  /** The SQL of the migrations applied so far (0001 alone on a watched.back database): the shape every static table must have now. */
  referenceSql: string[];
  logger?: Logger;
}

/** What the conversion will do, computed without changing anything. */
export interface UpgradePlan {
  duplicateHosts: DuplicateHost[];
  quarantine: QuarantineFinding[];
  changes: TableChange[];
  skipped: { table: string; reason: string }[];
  specs: DynamicTableSpec[];
}

/**
 * A d$ table has no foreign key (it is partitioned) but the aggregator's
 * orphan sweep deletes its rows without a resource link as the cascade did:
 * the upgrade sets such rows aside first, as for a real foreign key.
 */
function orphanSweepKey(spec: DynamicTableSpec): ForeignKeyInfo {
  const columns = [spec.owner, 'res_id'];
  return { name: 'orphan sweep', columns, refTable: resourceLinkTable(spec.owner), refColumns: columns, onDelete: 'CASCADE', onUpdate: 'CASCADE' };
}

const OUR_TABLES = new Set([UPGRADE_LOG_TABLE, QUARANTINE_TABLE, 'c$schema_migrations']);

/**
 * Converts a database written by watched.back, in place, into the one our
 * migrations and run-time code would have produced, keeping every row:
 *
 *  1. `convert()` (before the migrations): record row counts (baseline);
 *     rename hosts that differ only by case; move rows that a key or
 *     foreign key we add would refuse into `c$upgrade_quarantine`; then one
 *     ALTER TABLE per table (lossy DOUBLE(20,4)/FLOAT/INTEGER(32) columns to
 *     DOUBLE, keys, foreign keys, rollup count columns), each atomic.
 *  2. the migrations run as on any database (0001 re-creates the views,
 *     fixing `c$data_tables`, and adds missing tables and seeds; 0002+ add
 *     our tables).
 *  3. `finish()`: counts and watermarks of the old rollup rows, row counts
 *     after (compared with the baseline), and the `finished` mark.
 *
 * Every step re-reads the catalogue, so a run interrupted anywhere resumes
 * where it stopped.
 */
export class UpstreamUpgrade {
  private readonly log: UpgradeLog;
  private readonly quarantine: RowQuarantine;

  constructor(
    private readonly conn: Connection,
    private readonly options: UpstreamUpgradeOptions,
  ) {
    this.log = new UpgradeLog(conn);
    this.quarantine = new RowQuarantine(conn);
  }

  /** The conversion's statements and findings; changes nothing in the database. */
  async plan(): Promise<UpgradePlan> {
    return this.compute(false);
  }

  async convert(): Promise<UpgradePlan> {
    await this.log.create();
    if (!(await this.log.has('baseline'))) await this.recordCounts('baseline');
    await this.conn.query('SET SESSION foreign_key_checks = 0');
    try {
      return await this.compute(true);
    } finally {
      await this.conn.query('SET SESSION foreign_key_checks = 1');
    }
  }

  private async compute(execute: boolean): Promise<UpgradePlan> {
    const logger = this.options.logger;
    let actual = await readSchemaCatalog(this.conn, this.options.database);
    const { specs, skipped } = dynamicTableSpecs(actual);
    const reference = await buildReferenceCatalog(this.options.mysql, this.options.database, this.options.referenceSql, specs);

    const duplicateHosts = actual.tables.has('h$hosts')
      ? await findDuplicateHosts(this.conn, reference.tables.get('h$hosts')?.columns.find((c) => c.name === 'name')?.collation ?? 'utf8mb4_general_ci')
      : [];
    for (const host of duplicateHosts) {
      if (!execute) continue;
      const { sql, params } = renameHostSql(host);
      await this.conn.query(sql, params);
      await this.log.record('duplicate-host', 'h$hosts', `host ${host.id} '${host.name}' renamed '${host.newName}' (same name as host ${host.keptId} but for case)`, 1);
      logger?.warn(`h$hosts: host ${host.id} '${host.name}' renamed '${host.newName}': host ${host.keptId} has the same name but for case`);
    }

    const quarantine = await this.setAsideRows(actual, reference, execute, specs);
    // d$ tables end partitioned by time, which MariaDB allows without foreign keys only, and not
    // in the ALTER that drops them: the keys go first (metadata only), the partitioning joins the table's ALTER.
    const partitioner = new DataTablePartitioner({ logger });
    const dataTables = specs.filter((s) => s.kind === 'data' && actual.tables.has(s.table)).map((s) => s.table);
    if (execute) for (const table of dataTables) await partitioner.dropForeignKeys(this.conn, table);
    if (execute && (quarantine.length || dataTables.length)) actual = await readSchemaCatalog(this.conn, this.options.database);
    const partitioned = await readPartitionedTables(this.conn);

    const changes: TableChange[] = [];
    for (const [name, desired] of reference.tables) {
      const current = actual.tables.get(name);
      if (!current) continue; // created by the migrations (or, for rollup levels, by the aggregator)
      const change = diffTable(current, desired);
      for (const column of change.extraColumns) skipped.push({ table: name, reason: `column ${column} is not ours: kept as it is` });
      if (dataTables.includes(name) && !partitioned.has(name)) {
        const clause = await partitioner.partitionClause(this.conn, name);
        change.statement = `${change.statement ?? `ALTER TABLE ${quoteName(name)}\n  LOCK=SHARED`}\n  ${clause}`;
      }
      if (!change.statement) continue;
      changes.push(change);
      if (execute) await this.apply(change, current);
    }
    for (const name of actual.tables.keys()) {
      if (!reference.tables.has(name) && !OUR_TABLES.has(name) && !skipped.some((s) => s.table === name)) {
        skipped.push({ table: name, reason: 'not part of our schema: left as it is' });
      }
    }
    if (execute) {
      for (const s of skipped) await this.log.record('note', s.table, s.reason);
      const zeroLength = await this.zeroLengthEvents(actual);
      if (zeroLength) await this.log.record('note', null, zeroLength);
    }
    return { duplicateHosts, quarantine, changes, skipped, specs };
  }

  /**
   * Orphans of every foreign key of the target shape, NULLs in columns that
   * become NOT NULL keys, duplicate primary keys; repeated until a round
   * finds nothing, since moving a parent makes orphans of its children.
   */
  private async setAsideRows(actual: SchemaCatalog, reference: SchemaCatalog, execute: boolean, specs: DynamicTableSpec[]): Promise<QuarantineFinding[]> {
    const links = new Map(specs.filter((s) => s.kind === 'data').map((s) => [s.table, orphanSweepKey(s)]));
    const findings: QuarantineFinding[] = [];
    for (let round = 0; round < 10; round++) {
      const before = findings.length;
      for (const [name, desired] of reference.tables) {
        const current = actual.tables.get(name);
        if (!current) continue;
        const keyColumns = desired.indexes.find((i) => i.name === 'PRIMARY')?.columns ?? [];
        if (round === 0) {
          const nullable = keyColumns.filter((k) => current.columns.find((c) => c.name.toLowerCase() === k.toLowerCase())?.nullable);
          const f1 = await this.quarantine.nullKeys(current, nullable, execute);
          if (f1) findings.push(f1);
          const hasKey = current.indexes.some((i) => i.name === 'PRIMARY' && i.columns.join() === keyColumns.join());
          if (!hasKey && keyColumns.length && keyColumns.every((k) => current.columns.some((c) => c.name === k))) {
            const f2 = await this.quarantine.duplicateKeys(current, keyColumns, execute);
            if (f2) findings.push(f2);
          }
        }
        for (const fk of [...desired.foreignKeys, ...(links.has(name) ? [links.get(name)!] : [])]) {
          if (!fk.columns.every((c) => current.columns.some((col) => col.name === c))) continue;
          const f = await this.quarantine.orphans(current, fk, actual.tables.has(fk.refTable), execute);
          if (f) findings.push(f);
        }
      }
      // Without executing, nothing moves: one round shows what the first round would do.
      if (!execute || findings.length === before) break;
    }
    if (execute) {
      for (const f of findings) {
        await this.log.record('quarantine', f.table, `${f.reason} (${f.action})`, f.rows);
        this.options.logger?.warn(`${f.table}: ${f.rows} row(s) set aside in ${QUARANTINE_TABLE}: ${f.reason} (${f.action})`);
      }
    }
    return findings;
  }

  private async apply(change: TableChange, current: TableInfo): Promise<void> {
    const rows = await this.count(current.name);
    this.options.logger?.info(`converting ${change.table} (${rows.toLocaleString('en-US')} rows)${change.retyped.length ? `: ${change.retyped.join(', ')}` : ''}`);
    const started = performance.now();
    await this.conn.query(change.statement!);
    const ms = performance.now() - started;
    await this.log.record('convert', change.table, change.statement!, rows, ms);
    this.options.logger?.info(`converted ${change.table} in ${(ms / 1000).toFixed(1)} s`);
  }

  /** Events watched.back opened and closed on one sample: kept (they are closed events), counted in the report. */
  private async zeroLengthEvents(actual: SchemaCatalog): Promise<string | undefined> {
    const parts: string[] = [];
    for (const table of ['h$res_events', 's$res_events']) {
      if (!actual.tables.has(table)) continue;
      const [[{ n }]] = await this.conn.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${quoteName(table)} WHERE end_time = start_time`);
      if (Number(n) > 0) parts.push(`${table}: ${n}`);
    }
    return parts.length ? `events with end_time = start_time kept as closed events (${parts.join(', ')})` : undefined;
  }

  /** After the migrations: old rollup rows get counts, levels get watermarks, counts are compared with the baseline. */
  async finish(): Promise<void> {
    const actual = await readSchemaCatalog(this.conn, this.options.database);
    const { specs } = dynamicTableSpecs(actual);
    if (!(await this.log.has('rollups'))) {
      const results = await new RollupBackfill(this.conn, this.options.logger).run(specs);
      for (const r of results) await this.log.record('rollups', r.table, `${r.derived} rows' counts derived from the finer level, the others count as one`, r.rows, r.ms);
    }
    await this.compareCounts();
    await this.log.record('finished', null, 'upgrade from watched.back finished');
  }

  static describeFinish(): string[] {
    return RollupBackfill.describe();
  }

  private async recordCounts(step: 'baseline' | 'after'): Promise<Map<string, number>> {
    const catalog = await readSchemaCatalog(this.conn, this.options.database);
    const counts = new Map<string, number>();
    for (const name of [...catalog.tables.keys()].sort()) {
      if (OUR_TABLES.has(name)) continue;
      const n = await this.count(name);
      counts.set(name, n);
      await this.log.record(step, name, null, n);
    }
    return counts;
  }

  /** Every table keeps its rows, but for those set aside: fewer is logged as an error (more are seed rows the migrations added). */
  private async compareCounts(): Promise<void> {
    const after = await this.recordCounts('after');
    const [baseline] = await this.conn.query<RowDataPacket[]>(
      `SELECT table_name AS t, row_count AS n FROM \`${UPGRADE_LOG_TABLE}\` WHERE step = 'baseline'`,
    );
    // Rows moved out (not those whose reference was only set to NULL), extra copies of duplicate keys.
    const [moved] = await this.conn.query<RowDataPacket[]>(
      `SELECT table_name AS t, SUM(row_count) AS n FROM \`${UPGRADE_LOG_TABLE}\`
        WHERE step = 'quarantine' AND (detail LIKE '%(moved)' OR detail LIKE '%(kept-one)') GROUP BY table_name`,
    );
    const setAside = new Map(moved.map((r) => [String(r.t), Number(r.n)]));
    for (const row of baseline) {
      const name = String(row.t);
      const expected = Number(row.n) - (setAside.get(name) ?? 0);
      const found = after.get(name);
      if (found === undefined) {
        this.options.logger?.error(`${name}: had ${row.n} rows before the upgrade and is gone`);
      } else if (found < expected) {
        this.options.logger?.error(`${name}: ${row.n} rows before the upgrade, ${setAside.get(name) ?? 0} set aside, ${found} now (expected ${expected})`);
      } else if (found > expected) {
        // The migrations' seed rows that watched.back's database lacked (migration 0009's teams and roles, say).
        this.options.logger?.info(`${name}: ${found - expected} row(s) added by the migrations' seeds`);
      }
    }
  }

  private async count(table: string): Promise<number> {
    const [[{ n }]] = await this.conn.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${quoteName(table)}`);
    return Number(n);
  }
}
