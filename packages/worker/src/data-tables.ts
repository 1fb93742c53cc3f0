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

  /**
   * `maxTables`: `d$` tables the installation may hold (each comes with
   * three rollup tables): past it a new data type is refused, failing the
   * poll of the agent that sent it. Concurrent workers may each create one
   * more before seeing the other's.
   */
  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
    private readonly maxTables = Number.POSITIVE_INFINITY,
  ) {}

  /** Whether `d$<type>` is known to exist with every column of `type` (no query). */
  has(type: DataTypeSpec): boolean {
    const known = this.known.get(dataTableName(type.name).toLowerCase());
    return known !== undefined && known.owner === ownerColumn(type.owner) && type.properties.every((p) => known.columns.has(p.toLowerCase()));
  }

  /** Schema changes under way in this process, so agents of one job wait for one change per table. */
  private readonly changing = new Map<string, Promise<void>>();

  /** Makes sure `d$<type>` exists with every property of `type` as a column; 'changed' when this call created or altered it. */
  async ensure(type: DataTypeSpec): Promise<'unchanged' | 'changed'> {
    const table = dataTableName(type.name);
    const owner = ownerColumn(type.owner);
    const cached = this.known.get(table.toLowerCase());
    if (cached && this.satisfies(cached, owner, type, table)) return 'unchanged';

    // One change per table at a time in this process; other processes are held off by GET_LOCK.
    for (;;) {
      const running = this.changing.get(table.toLowerCase());
      if (!running) break;
      await running.catch(() => undefined);
    }
    const known = this.known.get(table.toLowerCase());
    if (known && this.satisfies(known, owner, type, table)) return 'unchanged';
    const change = this.change(table, owner, type);
    this.changing.set(table.toLowerCase(), change.then(() => undefined, () => undefined));
    try {
      return (await change) ? 'changed' : 'unchanged';
    } finally {
      this.changing.delete(table.toLowerCase());
    }
  }

  /**
   * Creates or alters the table on one connection holding the table's named
   * lock: the catalogue is re-read inside the lock, so a column another
   * worker just added is not added twice.
   */
  private async change(table: string, owner: 'host_id' | 'serv_id', type: DataTypeSpec): Promise<boolean> {
    let changed = false;
    await withSchemaLock(this.pool, table, async (conn) => {
      const current = await this.read(conn, table);
      if (!current) {
        await this.checkTableCount(conn, table);
        await this.createTable(conn, table, owner, type);
        changed = true;
      } else if (!this.satisfies(current, owner, type, table)) {
        for (const prop of type.properties) {
          if (!current.columns.has(prop.toLowerCase())) await this.addColumn(conn, table, prop);
        }
        changed = true;
      }
      const after = await this.read(conn, table);
      if (!after || !this.satisfies(after, owner, type, table)) {
        throw new Error(`${table} still lacks columns of ${type.name} after the schema change`);
      }
    });
    return changed;
  }

  /** Refuses a new table past `maxTables` (counted in the catalogue, as other workers create tables too). */
  private async checkTableCount(conn: PoolConnection, table: string): Promise<void> {
    if (!Number.isFinite(this.maxTables)) return;
    const [[row]] = await conn.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'd$%'",
    );
    if (Number(row.n) >= this.maxTables) {
      throw new Error(`data type ${table.slice(2)} would need a new table, but the installation already has ${row.n} d$ tables (limit --max-data-tables ${this.maxTables})`);
    }
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
