import { withDatabase, type MysqlConnectionOptions } from '../config/mysql-connection-options.js';
import { createMysqlConnection, type Connection } from '../mysql.js';
import { dataTableDdl, rollupTableDdl, type OwnerColumn } from './dynamic-table-shapes.js';
import { quoteName, readSchemaCatalog, type SchemaCatalog, type TableInfo } from './schema-catalog.js';

/** A run-time table of the database being upgraded, and the shape our code gives such a table. */
export interface DynamicTableSpec {
  table: string;
  kind: 'data' | 'rollup';
  owner: OwnerColumn;
  metrics: string[];
}

const DYNAMIC = /^(d|am|ah|ad)\$([A-Za-z0-9_]{1,60})$/;
const NUMERIC = new Set(['int', 'integer', 'bigint', 'smallint', 'mediumint', 'tinyint', 'double', 'float', 'decimal', 'real']);

/**
 * The d$ and rollup tables of `catalog` we know how to convert, with the
 * metrics they must carry; the others are returned with the reason they are
 * left alone. A rollup table takes its metrics from its d$ table (what the
 * aggregator would give it), or from its own avg_ columns without one.
 */
export function dynamicTableSpecs(catalog: SchemaCatalog): { specs: DynamicTableSpec[]; skipped: { table: string; reason: string }[] } {
  const specs: DynamicTableSpec[] = [];
  const skipped: { table: string; reason: string }[] = [];
  const dataMetrics = new Map<string, string[]>();
  const tables = [...catalog.tables.values()].sort((a, b) => a.name.localeCompare(b.name));
  for (const table of tables) {
    const match = DYNAMIC.exec(table.name);
    if (!match || match[1] !== 'd') continue;
    const owner = ownerOf(table);
    if (!owner) {
      skipped.push({ table: table.name, reason: 'no host_id/serv_id, res_id, timestamp columns (left as it is)' });
      continue;
    }
    const metrics = table.columns.filter((c) => !isKey(c.name) && NUMERIC.has(c.dataType)).map((c) => c.name);
    dataMetrics.set(match[2], metrics);
    specs.push({ table: table.name, kind: 'data', owner, metrics });
  }
  for (const table of tables) {
    const match = DYNAMIC.exec(table.name);
    if (!match || match[1] === 'd') continue;
    const owner = ownerOf(table);
    if (!owner) {
      skipped.push({ table: table.name, reason: 'no host_id/serv_id, res_id, timestamp columns (left as it is)' });
      continue;
    }
    const metrics =
      dataMetrics.get(match[2]) ??
      table.columns.filter((c) => c.name.toLowerCase().startsWith('avg_')).map((c) => c.name.slice(4));
    specs.push({ table: table.name, kind: 'rollup', owner, metrics });
  }
  return { specs, skipped };
}

function isKey(column: string): boolean {
  return ['host_id', 'serv_id', 'res_id', 'timestamp'].includes(column.toLowerCase());
}

function ownerOf(table: TableInfo): OwnerColumn | undefined {
  const names = new Set(table.columns.map((c) => c.name.toLowerCase()));
  if (!names.has('res_id') || !names.has('timestamp')) return undefined;
  if (names.has('host_id') && !names.has('serv_id')) return 'host_id';
  if (names.has('serv_id') && !names.has('host_id')) return 'serv_id';
  return undefined;
}

/**
 * The shapes our migrations and our run-time code produce, read back from a
 * scratch database (`<db>_wref`, dropped afterwards) where the given
 * migrations ran and the dynamic tables were created by the same DDL the
 * worker and the aggregator use. Reading the server's own catalogue gives
 * exactly the spelling information_schema will show for converted tables.
 */
export async function buildReferenceCatalog(mysql: MysqlConnectionOptions, database: string, migrationSql: string[], specs: DynamicTableSpec[]): Promise<SchemaCatalog> {
  const refName = `${database.slice(0, 58)}_wref`;
  const admin = await createMysqlConnection(withDatabase(mysql, undefined));
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteName(refName)}`);
    await admin.query(`CREATE DATABASE ${quoteName(refName)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    let ref: Connection | undefined;
    try {
      ref = await createMysqlConnection(withDatabase(mysql, refName), { multipleStatements: true });
      for (const sql of migrationSql) await ref.query(sql);
      for (const spec of specs) {
        await ref.query(
          spec.kind === 'data'
            ? dataTableDdl(spec.table, spec.owner, spec.metrics, { timeIndex: true })
            : rollupTableDdl(spec.table, spec.owner, spec.metrics),
        );
      }
      return await readSchemaCatalog(ref, refName);
    } finally {
      await ref?.end();
      await admin.query(`DROP DATABASE IF EXISTS ${quoteName(refName)}`);
    }
  } finally {
    await admin.end();
  }
}
