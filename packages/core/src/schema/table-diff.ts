import {
  columnDefinitionSql,
  foreignKeyDefinitionSql,
  indexDefinitionSql,
  quoteName,
  type ColumnInfo,
  type ForeignKeyInfo,
  type IndexInfo,
  type TableInfo,
} from './schema-catalog.js';

/** What turns one existing table into the shape our schema expects. */
export interface TableChange {
  table: string;
  /** One ALTER TABLE statement (empty when the table already has the shape). */
  statement?: string;
  /** Columns the table has beyond the expected ones: kept (never dropped), reported. */
  extraColumns: string[];
  /** Columns whose type changes (e.g. DOUBLE(20,4) to DOUBLE), for the report. */
  retyped: string[];
  /** Foreign keys added (their orphans must be moved out first). */
  addedForeignKeys: ForeignKeyInfo[];
}

function sameColumn(a: ColumnInfo, b: ColumnInfo): boolean {
  return (
    a.type === b.type &&
    a.nullable === b.nullable &&
    normaliseDefault(a) === normaliseDefault(b) &&
    a.extra === b.extra &&
    (a.collation ?? '') === (b.collation ?? '')
  );
}

/** MariaDB reports no default and an explicit DEFAULT NULL differently for nullable columns: same thing. */
function normaliseDefault(c: ColumnInfo): string {
  return c.defaultSql === null && c.nullable ? 'NULL' : (c.defaultSql ?? '');
}

function sameIndex(a: IndexInfo, b: IndexInfo): boolean {
  return a.name === b.name && a.unique === b.unique && a.columns.join(',').toLowerCase() === b.columns.join(',').toLowerCase();
}

function sameForeignKey(a: ForeignKeyInfo, b: ForeignKeyInfo): boolean {
  return (
    a.name === b.name &&
    a.refTable === b.refTable &&
    a.columns.join(',') === b.columns.join(',') &&
    a.refColumns.join(',') === b.refColumns.join(',') &&
    a.onDelete === b.onDelete &&
    a.onUpdate === b.onUpdate
  );
}

/**
 * One ALTER TABLE that brings `actual` to `desired`: columns retyped and
 * put in the desired order (MODIFY ... FIRST/AFTER), missing columns added,
 * keys and foreign keys that differ dropped and re-added, engine and
 * default collation set. Columns that only `actual` has are never dropped.
 * A table already in shape gives no statement, so the diff is its own
 * idempotence check.
 */
export function diffTable(actual: TableInfo, desired: TableInfo): TableChange {
  const clauses: string[] = [];
  const change: TableChange = { table: desired.name, extraColumns: [], retyped: [], addedForeignKeys: [] };
  const actualColumns = new Map(actual.columns.map((c) => [c.name.toLowerCase(), c]));
  const desiredNames = new Set(desired.columns.map((c) => c.name.toLowerCase()));
  change.extraColumns = actual.columns.filter((c) => !desiredNames.has(c.name.toLowerCase())).map((c) => c.name);

  const keptFks = actual.foreignKeys.filter((fk) => desired.foreignKeys.some((d) => sameForeignKey(d, fk)));
  for (const fk of actual.foreignKeys) {
    if (!keptFks.includes(fk)) clauses.push(`DROP FOREIGN KEY ${quoteName(fk.name)}`);
  }
  const keptIndexes = actual.indexes.filter((i) => desired.indexes.some((d) => sameIndex(d, i)));
  for (const index of actual.indexes) {
    if (keptIndexes.includes(index)) continue;
    clauses.push(index.name === 'PRIMARY' ? 'DROP PRIMARY KEY' : `DROP INDEX ${quoteName(index.name)}`);
  }

  // Order matters to the front (it lists metrics in column order) and to the schema comparison: when any
  // column differs or sits elsewhere, every expected column is restated at its place.
  const actualOrder = actual.columns.map((c) => c.name.toLowerCase()).filter((n) => desiredNames.has(n));
  const desiredOrder = desired.columns.map((c) => c.name.toLowerCase());
  const inOrder = actualOrder.join(',') === desiredOrder.join(',');
  const allSame = desired.columns.every((d) => {
    const a = actualColumns.get(d.name.toLowerCase());
    return a !== undefined && a.name === d.name && sameColumn(a, d);
  });
  if (!inOrder || !allSame) {
    let previous: string | undefined;
    for (const d of desired.columns) {
      const a = actualColumns.get(d.name.toLowerCase());
      const position = previous === undefined ? 'FIRST' : `AFTER ${quoteName(previous)}`;
      if (!a) clauses.push(`ADD COLUMN ${columnDefinitionSql(d)} ${position}`);
      else {
        if (a.type !== d.type) change.retyped.push(`${d.name} ${a.type} -> ${d.type}`);
        clauses.push(`${a.name === d.name ? `MODIFY COLUMN` : `CHANGE COLUMN ${quoteName(a.name)}`} ${columnDefinitionSql(d)} ${position}`);
      }
      previous = d.name;
    }
  }

  for (const index of desired.indexes) {
    if (!keptIndexes.some((k) => sameIndex(k, index))) clauses.push(`ADD ${indexDefinitionSql(index)}`);
  }
  for (const fk of desired.foreignKeys) {
    if (!keptFks.some((k) => sameForeignKey(k, fk))) {
      clauses.push(`ADD ${foreignKeyDefinitionSql(fk)}`);
      change.addedForeignKeys.push(fk);
    }
  }
  if (desired.engine && actual.engine?.toLowerCase() !== desired.engine.toLowerCase()) clauses.push(`ENGINE=${desired.engine}`);
  if (desired.collation && actual.collation !== desired.collation) {
    clauses.push(`DEFAULT CHARACTER SET ${desired.collation.split('_')[0]} COLLATE ${desired.collation}`);
  }
  // LOCK=SHARED: readers (the web front) go on during the table copy; the server refuses rather than take more.
  if (clauses.length) change.statement = `ALTER TABLE ${quoteName(desired.name)}\n  ${[...clauses, 'LOCK=SHARED'].join(',\n  ')}`;
  return change;
}
