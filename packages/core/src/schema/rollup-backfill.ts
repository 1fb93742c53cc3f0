import { dataTypeOf, DAY_MS, HOUR_MS, levelTableName, ROLLUP_LEVELS, type RollupLevel, type RollupLevelName } from '../contracts/rollups.js';
import type { Logger } from '../logger.js';
import type { Connection, ResultSetHeader, RowDataPacket } from '../mysql.js';
import { DATA_TIME_INDEX, METRIC_PREFIXES, ROLLUP_TIME_INDEX, ROW_COUNT_COLUMN } from './dynamic-table-shapes.js';
import type { DynamicTableSpec } from './reference-schema.js';
import { quoteName } from './schema-catalog.js';

/** Time span one statement of each level's backfill covers (every statement is bounded). */
const SPAN_MS: Record<RollupLevelName, number> = { am: 6 * HOUR_MS, ah: 7 * DAY_MS, ad: 366 * DAY_MS };

/**
 * Gives rollup rows written by watched.back what our aggregator needs from
 * them, without changing their avg/min/max:
 *  - counts: where the finer level still holds the bucket's rows, `n_rows`
 *    and `cnt_V` are counted from it and `sum_V = avg_V * cnt_V` (so a
 *    coarser bucket built from them is the exact weighted average); where it
 *    does not (raw rows past retention), each old bucket counts as one
 *    (`cnt_V` 1, `sum_V = avg_V`), which makes a coarser bucket the average
 *    of averages, what watched.back itself computed;
 *  - watermarks: each level continues after its newest old bucket, so no
 *    old bucket is recomputed (their raw rows are mostly gone).
 * Every statement covers a bounded time span and is idempotent.
 */
export class RollupBackfill {
  constructor(
    private readonly conn: Connection,
    private readonly logger?: Logger,
  ) {}

  /** The statements, as templates, for --dry-run. */
  static describe(): string[] {
    return [
      `-- per rollup table, in time spans: UPDATE <level>$<type> SET ${ROW_COUNT_COLUMN} = 1, cnt_V = (avg_V IS NOT NULL), sum_V = avg_V WHERE ${ROW_COUNT_COLUMN} = 0 AND timestamp in span`,
      `-- then: UPDATE <level>$<type> t JOIN (SELECT owner, res_id, bucket, COUNT(*) | SUM(${ROW_COUNT_COLUMN}), COUNT(V) | SUM(cnt_V) FROM <finer level> WHERE timestamp in span GROUP BY ...) s SET t.${ROW_COUNT_COLUMN} = s.n, t.cnt_V = s.c, t.sum_V = t.avg_V * s.c`,
      `-- then: INSERT IGNORE INTO c$rollup_watermarks (data_type, level, watermark, term, updated_at) VALUES (<type>, <level>, MAX(timestamp) + bucket size, 0, now)`,
    ];
  }

  async run(specs: DynamicTableSpec[]): Promise<{ table: string; rows: number; derived: number; ms: number }[]> {
    const tables = new Map(specs.map((s) => [s.table, s]));
    const done: { table: string; rows: number; derived: number; ms: number }[] = [];
    const types = [...new Set(specs.filter((s) => s.kind === 'rollup').map((s) => dataTypeOf(s.table)!))];
    for (const type of types) {
      for (const level of ROLLUP_LEVELS) {
        const spec = tables.get(levelTableName(level.name, type));
        if (!spec) continue;
        const source = tables.get(levelTableName(level.source, type));
        const started = performance.now();
        const result = await this.backfill(spec, level, source);
        if (result.rows > 0) {
          await this.conn.query(
            'INSERT IGNORE INTO `c$rollup_watermarks` (data_type, level, watermark, term, updated_at) VALUES (?, ?, ?, 0, ?)',
            [type, level.name, result.max + level.size, Date.now()],
          );
        }
        done.push({ table: spec.table, rows: result.rows, derived: result.derived, ms: performance.now() - started });
      }
    }
    return done;
  }

  private async backfill(spec: DynamicTableSpec, level: RollupLevel, source: DynamicTableSpec | undefined) {
    const t = quoteName(spec.table);
    const [[range]] = await this.conn.query<RowDataPacket[]>(`SELECT MIN(\`timestamp\`) AS lo, MAX(\`timestamp\`) AS hi, COUNT(*) AS n FROM ${t}`);
    if (range.lo === null) return { rows: 0, derived: 0, max: 0 };
    const lo = Math.floor(Number(range.lo) / level.size) * level.size;
    const hi = Number(range.hi);
    const metrics = spec.metrics;
    // Time ranges through the time indexes the conversion gave every table: the optimiser
    // otherwise scans the whole rollup table once per span.
    const fallback =
      `UPDATE ${t} FORCE INDEX (${ROLLUP_TIME_INDEX}) SET ${ROW_COUNT_COLUMN} = 1` +
      metrics.map((m) => `, ${quoteName('cnt_' + m)} = IF(${quoteName('avg_' + m)} IS NULL, 0, 1), ${quoteName('sum_' + m)} = ${quoteName('avg_' + m)}`).join('') +
      ` WHERE \`timestamp\` >= ? AND \`timestamp\` < ? AND ${ROW_COUNT_COLUMN} = 0`;
    const derive = source ? this.deriveSql(spec, level, source) : undefined;
    let derived = 0;
    const started = performance.now();
    for (let from: number | undefined = lo; from !== undefined && from <= hi; from = await this.nextBucket(t, from + SPAN_MS[level.name], level.size)) {
      const to = from + SPAN_MS[level.name];
      await this.conn.query(fallback, [from, to]);
      if (derive) {
        const [res] = await this.conn.query<ResultSetHeader>(derive, [from, to, from, to]);
        derived += res.affectedRows;
      }
    }
    this.logger?.info(`${spec.table}: counts of ${range.n} old rollup rows set (${derived} derived from ${source?.table ?? 'nothing'}) in ${Math.round(performance.now() - started)} ms`);
    return { rows: Number(range.n), derived, max: hi };
  }

  /** Start of the bucket of the first row at or after `ts` (empty spans, e.g. gaps of history, are skipped in one step). */
  private async nextBucket(table: string, ts: number, size: number): Promise<number | undefined> {
    const [[row]] = await this.conn.query<RowDataPacket[]>(
      `SELECT MIN(\`timestamp\`) AS ts FROM ${table} FORCE INDEX (${ROLLUP_TIME_INDEX}) WHERE \`timestamp\` >= ?`,
      [ts],
    );
    return row.ts === null ? undefined : Math.floor(Number(row.ts) / size) * size;
  }

  private deriveSql(spec: DynamicTableSpec, level: RollupLevel, source: DynamicTableSpec): string {
    const owner = spec.owner;
    const fromRaw = level.source === 'd';
    const present = new Set(source.metrics.map((m) => m.toLowerCase()));
    const metrics = spec.metrics.filter((m) => present.has(m.toLowerCase()));
    const counts = metrics.map((m, i) => (fromRaw ? `COUNT(${quoteName(m)}) AS c${i}` : `SUM(${quoteName('cnt_' + m)}) AS c${i}`));
    const sets = metrics.map((m, i) => {
      const [, , , sum, cnt] = METRIC_PREFIXES.map((p) => `t.${quoteName(p + m)}`);
      return `${cnt} = s.c${i}, ${sum} = IF(s.c${i} = 0, NULL, t.${quoteName('avg_' + m)} * s.c${i})`;
    });
    return (
      `UPDATE ${quoteName(spec.table)} t FORCE INDEX (${ROLLUP_TIME_INDEX}) JOIN (SELECT ${owner} AS o, res_id AS r, FLOOR(\`timestamp\` / ${level.size}) * ${level.size} AS b, ` +
      `${fromRaw ? 'COUNT(*)' : `SUM(${ROW_COUNT_COLUMN})`} AS n${counts.map((c) => `, ${c}`).join('')} ` +
      `FROM ${quoteName(source.table)} FORCE INDEX (${fromRaw ? DATA_TIME_INDEX : ROLLUP_TIME_INDEX}) WHERE \`timestamp\` >= ? AND \`timestamp\` < ? GROUP BY o, r, b) s ` +
      `ON t.${owner} = s.o AND t.res_id = s.r AND t.\`timestamp\` = s.b ` +
      `SET t.${ROW_COUNT_COLUMN} = s.n${sets.map((s) => `, ${s}`).join('')} ` +
      `WHERE t.\`timestamp\` >= ? AND t.\`timestamp\` < ?`
    );
  }
}
