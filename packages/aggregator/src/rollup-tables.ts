import {
  DATA_TIME_INDEX,
  errorMessage,
  isValidIdentifier,
  levelTableName,
  METRIC_PREFIXES,
  quoteIdentifier,
  ROLLUP_LEVELS,
  rollupColumnDefinitions,
  rollupTableDdl,
  withSchemaLock,
  type Logger,
  type Pool,
  type PoolConnection,
  type RollupLevelName,
  type RowDataPacket,
} from '@watched/core';

/** What the aggregator knows of one `d$<type>` table. */
export interface DataTypeSchema {
  dataType: string;
  owner: 'host_id' | 'serv_id';
  /** Metric columns: INT or DOUBLE columns other than the key, as the web front sees them. */
  metrics: string[];
}

// The rollup layout is defined in core (shared with the upgrade from watched.back); re-exported for this package.
export { DATA_TIME_INDEX, METRIC_PREFIXES, ROW_COUNT_COLUMN } from '@watched/core';

const KEY_COLUMNS = new Set(['host_id', 'serv_id', 'res_id', 'timestamp']);
const ER_DUP_FIELDNAME = 1060;
const ER_DUP_KEYNAME = 1061;
const ER_TABLE_EXISTS = 1050;

export interface EnsureResult {
  schemas: DataTypeSchema[];
  /** Data types whose am$ table gained metric columns in this call (their recent buckets are recomputed). */
  widened: Set<string>;
}

interface TableInfo {
  columns: Map<string, string>;
  hasTimeIndex: boolean;
}

/**
 * Creates `am$`/`ah$`/`ad$` tables for every `d$` table and adds the
 * rollup columns of new metrics, and adds a time index to `d$` tables.
 * Each change holds the table's named lock (`watched_ddl_<database>.<table>`, the
 * worker's lock for d$ tables) and re-reads the catalogue inside it.
 */
export class RollupTables {
  /** Tables already reported as not rollable (logged once). */
  private readonly skipped = new Set<string>();

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
  ) {}

  /** Reads every d$ table and brings its rollup tables up to date. */
  async ensure(): Promise<EnsureResult> {
    const tables = await this.readCatalog();
    const schemas: DataTypeSchema[] = [];
    const widened = new Set<string>();
    for (const [name, info] of tables) {
      if (!name.startsWith('d$')) continue;
      const dataType = name.slice(2);
      if (!isValidIdentifier(dataType)) {
        if (!this.skipped.has(name)) this.logger.warn(`ignoring table ${name}: not a valid data type name`);
        this.skipped.add(name);
        continue;
      }
      const cols = info.columns;
      if (!cols.has('res_id') || !cols.has('timestamp') || (!cols.has('host_id') && !cols.has('serv_id'))) {
        if (!this.skipped.has(name)) this.logger.warn(`ignoring table ${name}: not laid out as a data table (owner, res_id, timestamp)`);
        this.skipped.add(name);
        continue;
      }
      const schema = this.schemaOf(dataType, info);
      try {
        if (!info.hasTimeIndex) await this.addTimeIndex(name);
        for (const lvl of ROLLUP_LEVELS) {
          const target = levelTableName(lvl.name, dataType);
          const added = await this.ensureLevel(target, schema, tables.get(target));
          if (added && lvl.name === 'am') widened.add(dataType);
        }
        schemas.push(schema);
      } catch (err) {
        this.logger.error(`cannot prepare rollup tables of ${name}: ${errorMessage(err)}`);
      }
    }
    return { schemas, widened };
  }

  private schemaOf(dataType: string, info: TableInfo): DataTypeSchema {
    const owner = info.columns.has('serv_id') ? 'serv_id' : 'host_id';
    const metrics: string[] = [];
    for (const [column, type] of info.columns) {
      if (KEY_COLUMNS.has(column.toLowerCase())) continue;
      if (type !== 'int' && type !== 'double') continue;
      if (!isValidIdentifier(column)) {
        this.logger.warn(`ignoring column d$${dataType}.${column}: not a valid metric name`);
        continue;
      }
      metrics.push(column);
    }
    return { dataType, owner, metrics };
  }

  private async readCatalog(conn: Pool | PoolConnection = this.pool, only?: string): Promise<Map<string, TableInfo>> {
    const filter = only ? 'TABLE_NAME = ?' : "(TABLE_NAME LIKE 'd$%' OR TABLE_NAME LIKE 'am$%' OR TABLE_NAME LIKE 'ah$%' OR TABLE_NAME LIKE 'ad$%')";
    const params = only ? [only] : [];
    const [columns] = await conn.query<RowDataPacket[]>(
      `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, DATA_TYPE AS dt FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = DATABASE() AND ${filter} ORDER BY TABLE_NAME, ORDINAL_POSITION`,
      params,
    );
    const [indexes] = await conn.query<RowDataPacket[]>(
      `SELECT DISTINCT TABLE_NAME AS t FROM information_schema.STATISTICS
        WHERE TABLE_SCHEMA = DATABASE() AND ${filter} AND COLUMN_NAME = 'timestamp' AND SEQ_IN_INDEX = 1`,
      params,
    );
    const tables = new Map<string, TableInfo>();
    for (const row of columns) {
      const t = String(row.t);
      let info = tables.get(t);
      if (!info) tables.set(t, (info = { columns: new Map(), hasTimeIndex: false }));
      info.columns.set(String(row.c), String(row.dt).toLowerCase());
    }
    for (const row of indexes) {
      const info = tables.get(String(row.t));
      if (info) info.hasTimeIndex = true;
    }
    return tables;
  }

  /** Runs `work` on one connection holding the table's DDL lock (shared with the worker). */
  private withDdlLock<T>(table: string, work: (conn: PoolConnection) => Promise<T>): Promise<T> {
    return withSchemaLock(this.pool, table, work);
  }


  /**
   * d$ tables are keyed (owner, res_id, timestamp): without this index every
   * chunk, late-row check and retention batch would scan the whole table.
   * Built online (InnoDB ALGORITHM=INPLACE, LOCK=NONE): ingestion goes on.
   */
  private async addTimeIndex(table: string): Promise<void> {
    await this.withDdlLock(table, async (conn) => {
      const info = (await this.readCatalog(conn, table)).get(table);
      if (!info || info.hasTimeIndex) return;
      try {
        await conn.query(
          `ALTER TABLE ${quoteIdentifier(table)} ADD INDEX ${quoteIdentifier(DATA_TIME_INDEX)} (\`timestamp\`), ALGORITHM=INPLACE, LOCK=NONE`,
        );
        this.logger.info(`added index ${table}(timestamp) for rollups and retention`);
      } catch (err) {
        if ((err as { errno?: number }).errno !== ER_DUP_KEYNAME) throw err;
      }
    });
  }

  /** Creates the rollup table or adds missing metric columns; returns whether metric columns were added. */
  private async ensureLevel(table: string, schema: DataTypeSchema, known: TableInfo | undefined): Promise<boolean> {
    if (known && this.missing(known, schema).length === 0) return false;
    return this.withDdlLock(table, async (conn) => {
      const info = (await this.readCatalog(conn, table)).get(table);
      if (!info) {
        await this.create(conn, table, schema);
        return false;
      }
      const missing = this.missing(info, schema);
      if (missing.length === 0) return false;
      const adds = missing.flatMap((m) => rollupColumnDefinitions(m).map((def) => `ADD COLUMN ${def}`));
      try {
        await conn.query(`ALTER TABLE ${quoteIdentifier(table)} ${adds.join(', ')}`);
      } catch (err) {
        if ((err as { errno?: number }).errno !== ER_DUP_FIELDNAME) throw err;
      }
      this.logger.info(`added rollup columns of ${missing.join(', ')} to ${table}`);
      return true;
    });
  }

  private missing(info: TableInfo, schema: DataTypeSchema): string[] {
    const lower = new Set([...info.columns.keys()].map((c) => c.toLowerCase()));
    return schema.metrics.filter((m) => METRIC_PREFIXES.some((p) => !lower.has(`${p}${m}`.toLowerCase())));
  }

  /**
   * Key (owner, res_id, timestamp) like d$, a foreign key to the owner's
   * resource link (deleting a host or service in the front removes its
   * rollups too), and an index on (timestamp, n_rows) that serves the chunk
   * ranges, retention and the late-row check without touching the rows.
   */
  private async create(conn: PoolConnection, table: string, schema: DataTypeSchema): Promise<void> {
    const sql = rollupTableDdl(table, schema.owner, schema.metrics);
    try {
      await conn.query(sql);
      this.logger.info(`created rollup table ${table}`, { metrics: schema.metrics.length });
    } catch (err) {
      if ((err as { errno?: number }).errno !== ER_TABLE_EXISTS) throw err;
    }
  }
}

