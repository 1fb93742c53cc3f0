import { dataTableDdl, errorMessage, quoteIdentifier, withSchemaLock, type Logger, type Pool, type PoolConnection, type RowDataPacket } from '@watched/core';
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

  /** Schema changes under way in this process, so agents of one job wait for one change per table. */
  private readonly changing = new Map<string, Promise<void>>();

  /** Makes sure `d$<type>` exists with every property of `type` as a column. */
  async ensure(type: DataTypeSpec): Promise<void> {
    const table = dataTableName(type.name);
    const owner = ownerColumn(type.owner);
    const cached = this.known.get(table.toLowerCase());
    if (cached && this.satisfies(cached, owner, type, table)) return;

    // One change per table at a time in this process; other processes are held off by GET_LOCK.
    for (;;) {
      const running = this.changing.get(table.toLowerCase());
      if (!running) break;
      await running.catch(() => undefined);
    }
    const known = this.known.get(table.toLowerCase());
    if (known && this.satisfies(known, owner, type, table)) return;
    const change = this.change(table, owner, type);
    this.changing.set(table.toLowerCase(), change);
    try {
      await change;
    } finally {
      this.changing.delete(table.toLowerCase());
    }
  }

  /**
   * Creates or alters the table on one connection holding the table's named
   * lock: the catalogue is re-read inside the lock, so a column another
   * worker just added is not added twice.
   */
  private async change(table: string, owner: 'host_id' | 'serv_id', type: DataTypeSpec): Promise<void> {
    await withSchemaLock(this.pool, table, async (conn) => {
      const current = await this.read(conn, table);
      if (!current) {
        await this.createTable(conn, table, owner, type);
      } else if (!this.satisfies(current, owner, type, table)) {
        for (const prop of type.properties) {
          if (!current.columns.has(prop.toLowerCase())) await this.addColumn(conn, table, prop);
        }
      }
      const after = await this.read(conn, table);
      if (!after || !this.satisfies(after, owner, type, table)) {
        throw new Error(`${table} still lacks columns of ${type.name} after the schema change`);
      }
    });
  }


  private satisfies(known: KnownTable, owner: string, type: DataTypeSpec, table: string): boolean {
    if (known.owner !== owner) {
      throw new Error(`${table} is keyed by ${known.owner} but ${type.name} is now a ${type.owner} type`);
    }
    return type.properties.every((p) => known.columns.has(p.toLowerCase()));
  }

  private async read(conn: PoolConnection, table: string): Promise<KnownTable | undefined> {
    const [rows] = await conn.query<RowDataPacket[]>(
      'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
      [table],
    );
    if (rows.length === 0) return undefined;
    const columns = new Set(rows.map((r) => String(r.name).toLowerCase()));
    const known: KnownTable = { owner: columns.has('serv_id') ? 'serv_id' : 'host_id', columns };
    this.known.set(table.toLowerCase(), known);
    return known;
  }

  /**
   * Upstream's layout: owner, res_id, timestamp, one DOUBLE per metric, key
   * (owner, res_id, timestamp), partitioned by time (core's dataTableDdl;
   * the aggregator adds partitions and sweeps the rows of deleted hosts and
   * services, which a foreign key cannot do on a partitioned table).
   */
  private async createTable(conn: PoolConnection, table: string, owner: 'host_id' | 'serv_id', type: DataTypeSpec) {
    const sql = dataTableDdl(table, owner, type.properties);
    try {
      await conn.query(sql);
      this.logger.info(`created table ${table}`, { columns: type.properties.length });
    } catch (err) {
      if ((err as { errno?: number }).errno !== ER_TABLE_EXISTS) throw err;
    }
  }

  private async addColumn(conn: PoolConnection, table: string, column: string) {
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
