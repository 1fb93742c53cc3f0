/**
 * Test fixtures: inventory rows, d$ tables laid out as the worker creates
 * them (owner, res_id, DOUBLE timestamp and metrics, FK to the resource
 * link), deterministic rows, and the rollups a test expects, computed in
 * JavaScript independently of the SQL under test.
 */
import { dataTableDdl, quoteIdentifier, type Pool, type RowDataPacket } from '@watched/core';

export type Owner = 'host_id' | 'serv_id';
export type Row = { owner: number; res: number; ts: number; values: Record<string, number | null> };

/** A series (owner, resource) of one data type. */
export interface Series {
  owner: number;
  res: number;
}

/** Creates `count` hosts (or services on one host) linked to a resource of `dataType`; returns the series. */
export async function seedSeries(pool: Pool, dataType: string, owner: Owner, owners: number, resources: number): Promise<Series[]> {
  const series: Series[] = [];
  const resIds: number[] = [];
  const origin = owner === 'host_id' ? 'host' : 'service';
  for (let r = 0; r < resources; r++) {
    await pool.query('INSERT INTO `c$ressources` (name, origin, data_type) VALUES (?, ?, ?)', [`col/${dataType}${r}`, origin, dataType]);
    const [[row]] = await pool.query<RowDataPacket[]>('SELECT id FROM `c$ressources` WHERE name = ? AND origin = ?', [`col/${dataType}${r}`, origin]);
    resIds.push(Number(row.id));
  }
  for (let o = 0; o < owners; o++) {
    const hostName = `${dataType}-host-${o}`;
    await pool.query('INSERT IGNORE INTO `h$hosts` (name) VALUES (?)', [hostName]);
    const [[host]] = await pool.query<RowDataPacket[]>('SELECT id FROM `h$hosts` WHERE name = ?', [hostName]);
    let ownerId = Number(host.id);
    if (owner === 'serv_id') {
      await pool.query('INSERT INTO `s$services` (host_id, name) VALUES (?, ?)', [ownerId, `svc-${o}`]);
      const [[svc]] = await pool.query<RowDataPacket[]>('SELECT id FROM `s$services` WHERE host_id = ? AND name = ?', [ownerId, `svc-${o}`]);
      ownerId = Number(svc.id);
    }
    for (const res of resIds) {
      const links = owner === 'host_id' ? 'h$ressources' : 's$ressources';
      await pool.query(`INSERT INTO ${quoteIdentifier(links)} (${owner}, res_id) VALUES (?, ?)`, [ownerId, res]);
      series.push({ owner: ownerId, res });
    }
  }
  return series;
}

/**
 * The worker's d$ layout (packages/worker/src/data-tables.ts): partitioned
 * by time, partitions placed around `nowMs` (default: the clock).
 */
export async function createDataTable(pool: Pool, dataType: string, owner: Owner, metrics: string[], nowMs?: number): Promise<void> {
  await pool.query(dataTableDdl(`d$${dataType}`, owner, metrics, nowMs === undefined ? {} : { nowMs }));
}

/** The d$ layout before partitioning (issue 18): a foreign key to the resource link, no partitions. */
export async function createLegacyDataTable(pool: Pool, dataType: string, owner: Owner, metrics: string[]): Promise<void> {
  const links = owner === 'host_id' ? 'h$ressources' : 's$ressources';
  await pool.query(
    `CREATE TABLE ${quoteIdentifier(`d$${dataType}`)} (${owner} INT UNSIGNED NOT NULL, res_id INT UNSIGNED NOT NULL, \`timestamp\` DOUBLE NOT NULL, ` +
      metrics.map((m) => `${quoteIdentifier(m)} DOUBLE NULL, `).join('') +
      `PRIMARY KEY (${owner}, res_id, \`timestamp\`), CONSTRAINT ${quoteIdentifier(`fk_d$${dataType}`)} FOREIGN KEY (${owner}, res_id) ` +
      `REFERENCES ${quoteIdentifier(links)} (${owner}, res_id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB`,
  );
}

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Rows every `stepMs` in [from, to) per series, with a per-row jitter of the
 * timestamp (fractions of ms, as agents send). Values are multiples of 1/8
 * below 1000, so every sum is exact in binary and the expected values are
 * exact, not approximate; about 5 % of values are NULL.
 */
export function makeRows(series: Series[], metrics: string[], from: number, to: number, stepMs: number, seed: number): Row[] {
  const random = prng(seed);
  const rows: Row[] = [];
  for (const s of series) {
    for (let t = from; t < to; t += stepMs) {
      const values: Record<string, number | null> = {};
      for (const m of metrics) values[m] = random() < 0.05 ? null : Math.floor(random() * 8000) / 8;
      rows.push({ owner: s.owner, res: s.res, ts: t + Math.floor(random() * 1000) / 4, values });
    }
  }
  return rows;
}

export async function insertRows(pool: Pool, dataType: string, owner: Owner, metrics: string[], rows: Row[]): Promise<void> {
  const columns = [owner, 'res_id', '`timestamp`', ...metrics.map(quoteIdentifier)].join(', ');
  for (let i = 0; i < rows.length; i += 2000) {
    const batch = rows.slice(i, i + 2000).map((r) => [r.owner, r.res, r.ts, ...metrics.map((m) => r.values[m])]);
    await pool.query(`INSERT INTO ${quoteIdentifier(`d$${dataType}`)} (${columns}) VALUES ?`, [batch]);
  }
}

/** One rollup row, as the tests compare them. */
export interface Bucket {
  key: string;
  n: number;
  metrics: Record<string, { avg: number | null; min: number | null; max: number | null; sum: number | null; cnt: number }>;
}

/** The rollups of `rows` at bucket size `size`, computed from the raw rows (so weighted averages are checked). */
export function expectedBuckets(rows: Row[], metrics: string[], size: number, from = -Infinity, to = Infinity): Map<string, Bucket> {
  const out = new Map<string, Bucket>();
  for (const r of rows) {
    const b = Math.floor(r.ts / size) * size;
    if (b < from || b >= to) continue;
    const key = `${r.owner}/${r.res}/${b}`;
    let bucket = out.get(key);
    if (!bucket) {
      bucket = { key, n: 0, metrics: {} };
      for (const m of metrics) bucket.metrics[m] = { avg: null, min: null, max: null, sum: null, cnt: 0 };
      out.set(key, bucket);
    }
    bucket.n += 1;
    for (const m of metrics) {
      const v = r.values[m];
      if (v === null || v === undefined) continue;
      const e = bucket.metrics[m];
      e.cnt += 1;
      e.sum = (e.sum ?? 0) + v;
      e.min = e.min === null ? v : Math.min(e.min, v);
      e.max = e.max === null ? v : Math.max(e.max, v);
    }
  }
  for (const bucket of out.values()) {
    for (const e of Object.values(bucket.metrics)) e.avg = e.cnt === 0 ? null : e.sum! / e.cnt;
  }
  return out;
}

/** Reads a rollup table back in the shape of `expectedBuckets`. */
export async function readBuckets(pool: Pool, table: string, owner: Owner, metrics: string[]): Promise<Map<string, Bucket>> {
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT * FROM ${quoteIdentifier(table)} ORDER BY ${owner}, res_id, \`timestamp\``);
  const out = new Map<string, Bucket>();
  for (const r of rows) {
    const key = `${r[owner]}/${r.res_id}/${r.timestamp}`;
    const bucket: Bucket = { key, n: Number(r.n_rows), metrics: {} };
    for (const m of metrics) {
      bucket.metrics[m] = { avg: r[`avg_${m}`], min: r[`min_${m}`], max: r[`max_${m}`], sum: r[`sum_${m}`], cnt: Number(r[`cnt_${m}`]) };
    }
    out.set(key, bucket);
  }
  return out;
}

/** Sorted arrays of buckets, for toEqual with readable diffs. */
export function sorted(buckets: Map<string, Bucket>): Bucket[] {
  return [...buckets.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export async function countRows(pool: Pool, table: string, where = '1'): Promise<number> {
  const [[row]] = await pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${quoteIdentifier(table)} WHERE ${where}`);
  return Number(row.n);
}
