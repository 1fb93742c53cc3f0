import type { Connection, RowDataPacket } from '../mysql.js';

/** One column as information_schema describes it (MariaDB's normalised spelling). */
export interface ColumnInfo {
  name: string;
  /** COLUMN_TYPE, e.g. `int(10) unsigned`, `double`, `double(20,4) unsigned`. */
  type: string;
  /** DATA_TYPE, e.g. `int`, `double`, `float`. */
  dataType: string;
  nullable: boolean;
  /** COLUMN_DEFAULT as an SQL expression (`NULL`, `300`, `'x'`, `current_timestamp()`), or null for none. */
  defaultSql: string | null;
  /** EXTRA, lower case: `auto_increment`, `on update current_timestamp()`, ... */
  extra: string;
  collation: string | null;
  charset: string | null;
}

export interface IndexInfo {
  /** `PRIMARY` for the primary key. */
  name: string;
  unique: boolean;
  /** Columns in key order, with a prefix length where there is one (`name(20)`). */
  columns: string[];
}

export interface ForeignKeyInfo {
  name: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  onDelete: string;
  onUpdate: string;
}

export interface TableInfo {
  name: string;
  engine: string | null;
  collation: string | null;
  /** In ordinal order. */
  columns: ColumnInfo[];
  indexes: IndexInfo[];
  foreignKeys: ForeignKeyInfo[];
}

/** Every base table of one schema, by name. Views are listed apart. */
export interface SchemaCatalog {
  tables: Map<string, TableInfo>;
  views: Set<string>;
}

/**
 * Reads the layout of a schema's base tables (columns, keys, foreign keys)
 * from information_schema in four queries, whatever the number of tables.
 */
export async function readSchemaCatalog(conn: Connection, database: string): Promise<SchemaCatalog> {
  const [tables] = await conn.query<RowDataPacket[]>(
    'SELECT TABLE_NAME AS t, TABLE_TYPE AS kind, ENGINE AS engine, TABLE_COLLATION AS coll FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?',
    [database],
  );
  const [columns] = await conn.query<RowDataPacket[]>(
    `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, COLUMN_TYPE AS ct, DATA_TYPE AS dt, IS_NULLABLE AS n, COLUMN_DEFAULT AS d,
            EXTRA AS x, COLLATION_NAME AS coll, CHARACTER_SET_NAME AS cs
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    [database],
  );
  const [indexes] = await conn.query<RowDataPacket[]>(
    `SELECT TABLE_NAME AS t, INDEX_NAME AS i, NON_UNIQUE AS nu, COLUMN_NAME AS c, SUB_PART AS sp
       FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
    [database],
  );
  const [fks] = await conn.query<RowDataPacket[]>(
    `SELECT k.TABLE_NAME AS t, k.CONSTRAINT_NAME AS f, k.COLUMN_NAME AS c, k.REFERENCED_TABLE_NAME AS rt,
            k.REFERENCED_COLUMN_NAME AS rc, r.DELETE_RULE AS del, r.UPDATE_RULE AS upd
       FROM information_schema.KEY_COLUMN_USAGE k
       JOIN information_schema.REFERENTIAL_CONSTRAINTS r
         ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
      WHERE k.TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL
      ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION`,
    [database],
  );
  const catalog: SchemaCatalog = { tables: new Map(), views: new Set() };
  for (const row of tables) {
    const name = String(row.t);
    if (row.kind === 'VIEW') catalog.views.add(name);
    else catalog.tables.set(name, { name, engine: row.engine ?? null, collation: row.coll ?? null, columns: [], indexes: [], foreignKeys: [] });
  }
  for (const row of columns) {
    const table = catalog.tables.get(String(row.t));
    if (!table) continue;
    table.columns.push({
      name: String(row.c),
      type: String(row.ct).toLowerCase(),
      dataType: String(row.dt).toLowerCase(),
      nullable: row.n === 'YES',
      defaultSql: row.d === null || row.d === undefined ? null : String(row.d),
      extra: String(row.x ?? '').toLowerCase(),
      collation: row.coll ?? null,
      charset: row.cs ?? null,
    });
  }
  for (const row of indexes) {
    const table = catalog.tables.get(String(row.t));
    if (!table) continue;
    const name = String(row.i);
    let index = table.indexes.find((i) => i.name === name);
    if (!index) table.indexes.push((index = { name, unique: Number(row.nu) === 0, columns: [] }));
    index.columns.push(row.sp === null || row.sp === undefined ? String(row.c) : `${row.c}(${row.sp})`);
  }
  for (const row of fks) {
    const table = catalog.tables.get(String(row.t));
    if (!table) continue;
    const name = String(row.f);
    let fk = table.foreignKeys.find((f) => f.name === name);
    if (!fk) {
      fk = { name, columns: [], refTable: String(row.rt), refColumns: [], onDelete: String(row.del), onUpdate: String(row.upd) };
      table.foreignKeys.push(fk);
    }
    fk.columns.push(String(row.c));
    fk.refColumns.push(String(row.rc));
  }
  return catalog;
}

/** Backquotes any table or column name read from the catalog (upstream's names included). */
export function quoteName(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

/** The column clause that recreates `column` exactly (type, charset, nullability, default, extra). */
export function columnDefinitionSql(column: ColumnInfo): string {
  const parts = [quoteName(column.name), column.type];
  if (column.collation) parts.push(`CHARACTER SET ${column.charset} COLLATE ${column.collation}`);
  parts.push(column.nullable ? 'NULL' : 'NOT NULL');
  if (column.defaultSql !== null && !(column.defaultSql === 'NULL' && !column.nullable)) parts.push(`DEFAULT ${column.defaultSql}`);
  if (column.extra.includes('auto_increment')) parts.push('AUTO_INCREMENT');
  const onUpdate = /on update (\S+)/.exec(column.extra);
  if (onUpdate) parts.push(`ON UPDATE ${onUpdate[1]}`);
  return parts.join(' ');
}

export function indexColumnsSql(index: IndexInfo): string {
  return index.columns.map((c) => {
    const prefix = /^(.*)\((\d+)\)$/.exec(c);
    return prefix ? `${quoteName(prefix[1])}(${prefix[2]})` : quoteName(c);
  }).join(', ');
}

export function indexDefinitionSql(index: IndexInfo): string {
  if (index.name === 'PRIMARY') return `PRIMARY KEY (${indexColumnsSql(index)})`;
  return `${index.unique ? 'UNIQUE KEY' : 'KEY'} ${quoteName(index.name)} (${indexColumnsSql(index)})`;
}

export function foreignKeyDefinitionSql(fk: ForeignKeyInfo): string {
  return (
    `CONSTRAINT ${quoteName(fk.name)} FOREIGN KEY (${fk.columns.map(quoteName).join(', ')}) ` +
    `REFERENCES ${quoteName(fk.refTable)} (${fk.refColumns.map(quoteName).join(', ')}) ` +
    `ON DELETE ${fk.onDelete} ON UPDATE ${fk.onUpdate}`
  );
}
