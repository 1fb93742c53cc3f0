// The bare baselines: rows the pipeline committed, written again by a plain
// mysql2 loop (no HTTP, no queue, no transactions beyond autocommit) into
// copies of the same tables, once as multi-row INSERTs and once as LOAD
// DATA LOCAL INFILE, to tell how close the pipeline comes to what this
// MySQL can take.
import { Readable } from 'node:stream';
import { countData, dataTableColumns } from './mysql-data.mjs';

const copyName = (table) => table.replace(/^d\$/, 'b$');

/** Creates `b$<type>` beside each `d$<type>`, with the same columns, keys and foreign key. */
async function createCopies(pool, tables) {
  for (const table of tables.keys()) {
    const [[row]] = await pool.query(`SHOW CREATE TABLE \`${table}\``);
    const sql = row['Create Table'].replaceAll(`\`${table}\``, `\`${copyName(table)}\``).replaceAll(`\`fk_${table}\``, `\`fk_${copyName(table)}\``);
    await pool.query(`DROP TABLE IF EXISTS \`${copyName(table)}\``);
    await pool.query(sql);
  }
}

/**
 * Up to `maxRows` rows in the pipeline's proportions, in timestamp order per
 * table (a fleet's data arriving over time), kept as one Float64Array per
 * table (NaN for NULL) so a million rows cost tens of MB, not hundreds.
 */
async function loadRows(pool, tables, maxRows) {
  const [counts] = await pool.query(
    `SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'd$%'`,
  );
  const sizes = new Map();
  for (const { t } of counts) sizes.set(t, Number((await pool.query(`SELECT COUNT(*) AS n FROM \`${t}\``))[0][0].n));
  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  const share = Math.min(1, maxRows / Math.max(1, total));
  const loaded = [];
  for (const [table, metrics] of tables) {
    const [[{ owner }]] = await pool.query(
      "SELECT COLUMN_NAME AS owner FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND ORDINAL_POSITION = 1",
      [table],
    );
    const columns = [owner, 'res_id', 'timestamp', ...metrics];
    const limit = Math.floor((sizes.get(table) ?? 0) * share);
    if (limit === 0) continue;
    const [rows] = await pool.query({
      sql: `SELECT ${columns.map((c) => `\`${c}\``).join(', ')} FROM \`${table}\` ORDER BY \`timestamp\` LIMIT ${limit}`,
      rowsAsArray: true,
    });
    const data = new Float64Array(rows.length * columns.length);
    let i = 0;
    for (const row of rows) for (const v of row) data[i++] = v === null ? NaN : Number(v);
    loaded.push({ table: copyName(table), columns, rows: rows.length, data });
  }
  return loaded;
}

/** One batch as a multi-row INSERT (mysql2 formats the values, as a plain client would). */
async function insertBatch(conn, t, start, end) {
  const width = t.columns.length;
  const values = [];
  for (let r = start; r < end; r++) {
    const row = new Array(width);
    for (let c = 0; c < width; c++) {
      const v = t.data[r * width + c];
      row[c] = Number.isNaN(v) ? null : v;
    }
    values.push(row);
  }
  await conn.query(`INSERT INTO \`${t.table}\` (${t.columns.map((c) => `\`${c}\``).join(', ')}) VALUES ?`, [values]);
}

/** One batch as LOAD DATA LOCAL INFILE of tab-separated text streamed from memory (NULL as \N). */
async function loadBatch(conn, t, start, end) {
  const width = t.columns.length;
  function* chunks() {
    let text = '';
    for (let r = start; r < end; r++) {
      for (let c = 0; c < width; c++) {
        const v = t.data[r * width + c];
        text += (c ? '\t' : '') + (Number.isNaN(v) ? '\\N' : String(v));
      }
      text += '\n';
      if (text.length >= 256 * 1024) {
        yield Buffer.from(text);
        text = '';
      }
    }
    if (text) yield Buffer.from(text);
  }
  await conn.query({
    sql: `LOAD DATA LOCAL INFILE 'rows' INTO TABLE \`${t.table}\` (${t.columns.map((c) => `\`${c}\``).join(', ')})`,
    infileStreamFactory: () => Readable.from(chunks(), { objectMode: false }),
  });
}

const WRITERS = { insert: insertBatch, 'load-data': loadBatch };

/**
 * Writes the loaded rows with `connections` parallel loops of `batchRows`
 * rows per statement, tables interleaved, by `method` (`insert`: multi-row
 * INSERT; `load-data`: LOAD DATA LOCAL INFILE), autocommit; returns values
 * and rows per second counted in MySQL afterwards.
 */
async function writeCopies(pool, tables, loaded, { method, connections, batchRows }, sampler) {
  await createCopies(pool, tables);
  // Work items: batches of every table, interleaved so concurrent loops write different tables as the pipeline does.
  const batches = [];
  for (let start = 0; ; start += batchRows) {
    const round = loaded.filter((t) => start < t.rows).map((t) => ({ t, start, end: Math.min(t.rows, start + batchRows) }));
    if (round.length === 0) break;
    batches.push(...round);
  }
  const writeBatch = WRITERS[method];
  let next = 0;
  sampler?.start();
  const started = performance.now();
  const lane = async () => {
    const conn = await pool.getConnection();
    try {
      while (next < batches.length) {
        const { t, start, end } = batches[next++];
        await writeBatch(conn, t, start, end);
      }
    } finally {
      conn.release();
    }
  };
  await Promise.all(Array.from({ length: connections }, lane));
  const seconds = (performance.now() - started) / 1000;
  const usage = sampler?.stop();
  const counted = await countData(pool, 'b$%');
  for (const table of tables.keys()) await pool.query(`DROP TABLE IF EXISTS \`${copyName(table)}\``);
  const cpuSeconds = usage ? Object.entries(usage).filter(([k]) => k !== 'machine').reduce((s, [, u]) => s + u.cpuCores * seconds, 0) : undefined;
  return {
    method,
    seconds: +seconds.toFixed(2),
    rows: counted.rows,
    values: counted.values,
    rowsPerSecond: Math.round(counted.rows / seconds),
    valuesPerSecond: Math.round(counted.values / seconds),
    cpuMicrosPerValue: cpuSeconds === undefined ? undefined : +((cpuSeconds / counted.values) * 1e6).toFixed(2),
    connections,
    batchRows,
    usage,
  };
}

/**
 * Both bare baselines on the same rows, one after the other: multi-row
 * INSERT (`insertBatchRows` a statement) and LOAD DATA LOCAL INFILE
 * (`loadBatchRows` a statement). `sampler()` makes a fresh UsageSampler.
 */
export async function runBaselines(pool, { maxRows, connections, insertBatchRows, loadBatchRows }, sampler) {
  const tables = await dataTableColumns(pool);
  const loaded = await loadRows(pool, tables, maxRows);
  return {
    insert: await writeCopies(pool, tables, loaded, { method: 'insert', connections, batchRows: insertBatchRows }, sampler?.()),
    loadData: await writeCopies(pool, tables, loaded, { method: 'load-data', connections, batchRows: loadBatchRows }, sampler?.()),
  };
}
