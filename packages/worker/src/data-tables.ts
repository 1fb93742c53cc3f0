import { errorMessage, quoteIdentifier, type Logger, type Pool, type RowDataPacket } from '@watched/core';
import type { DataTypeSpec } from './ingest/catalog.js';

/** `d$<type>` for a validated type name. */
export function dataTableName(type: string): string {
  return `d$${type}`;
}

export function ownerColumn(owner: 'host' | 'service'): 'host_id' | 'serv_id' {
  return owner === 'host' ? 'host_id' : 'serv_id';
}

interface KnownTable {
  owner: 'host_id' | 'serv_id';
  columns: Set<string>;
}

const ER_DUP_FIELDNAME = 1060;
const ER_TABLE_EXISTS = 1050;

/**
 * Creates `d$<type>` tables and their metric columns on first sight. Each
 * change runs under a MySQL named lock per table and re-checks the
 * catalogue inside it, so two workers discovering the same column both
 * succeed; metric columns are DOUBLE (the web front reads INT/DOUBLE only).
 */
export class DataTables {
  private readonly known = new Map<string, KnownTable>();

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
  ) {}

  /** Makes sure `d$<type>` exists with every property of `type` as a column. */
  async ensure(type: DataTypeSpec): Promise<void> {
    const table = dataTableName(type.name);
    const owner = ownerColumn(type.owner);
    const cached = this.known.get(table.toLowerCase());
    if (cached && this.satisfies(cached, owner, type, table)) return;

    let current = await this.read(table);
    if (current && this.satisfies(current, owner, type, table)) return;

    const conn = await this.pool.getConnection();
    const lock = `watched_ddl_${table}`.slice(0, 64);
    try {
      const [[got]] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, 60) AS got', [lock]);
      if (got.got !== 1) throw new Error(`timed out waiting for the schema lock of ${table}`);
      try {
        current = await this.read(table);
        if (!current) {
          await this.createTable(conn, table, owner, type.properties);
        } else {
          this.satisfies(current, owner, type, table); // throws on an owner mismatch
          for (const prop of type.properties) {
            if (current.columns.has(prop.toLowerCase())) continue;
            await this.addColumn(conn, table, prop);
          }
        }
      } finally {
        await conn.query('SELECT RELEASE_LOCK(?)', [lock]);
      }
    } finally {
      conn.release();
    }
    const after = await this.read(table);
    if (!after || !this.satisfies(after, owner, type, table)) {
      throw new Error(`${table} still lacks columns of ${type.name} after the schema change`);
    }
  }

  private satisfies(known: KnownTable, owner: string, type: DataTypeSpec, table: string): boolean {
    if (known.owner !== owner) {
      throw new Error(`${table} is keyed by ${known.owner} but ${type.name} is now a ${type.owner} type`);
    }
    return type.properties.every((p) => known.columns.has(p.toLowerCase()));
  }

  private async read(table: string): Promise<KnownTable | undefined> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
      [table],
    );
    if (rows.length === 0) return undefined;
    const columns = new Set(rows.map((r) => String(r.name).toLowerCase()));
    const known: KnownTable = { owner: columns.has('serv_id') ? 'serv_id' : 'host_id', columns };
    this.known.set(table.toLowerCase(), known);
    return known;
  }

  private async createTable(conn: { query: Pool['query'] }, table: string, owner: string, properties: string[]) {
    const metricColumns = properties.map((p) => `${quoteIdentifier(p)} DOUBLE NULL`);
    const sql =
      `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(table)} (` +
      [
        `${owner} INT NOT NULL`,
        'res_id INT NOT NULL',
        '`timestamp` DOUBLE NOT NULL',
        ...metricColumns,
        `PRIMARY KEY (${owner}, res_id, \`timestamp\`)`,
      ].join(', ') +
      ') ENGINE=InnoDB DEFAULT CHARSET=utf8mb4';
    try {
      await conn.query(sql);
      this.logger.info(`created table ${table}`, { columns: properties.length });
    } catch (err) {
      if ((err as { errno?: number }).errno !== ER_TABLE_EXISTS) throw err;
    }
  }

  private async addColumn(conn: { query: Pool['query'] }, table: string, column: string) {
    try {
      await conn.query(`ALTER TABLE ${quoteIdentifier(table)} ADD COLUMN ${quoteIdentifier(column)} DOUBLE NULL`);
      this.logger.info(`added column ${table}.${column}`);
    } catch (err) {
      if ((err as { errno?: number }).errno !== ER_DUP_FIELDNAME) {
        throw new Error(`cannot add ${table}.${column}: ${errorMessage(err)}`);
      }
    }
  }
}
