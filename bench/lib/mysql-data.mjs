// Scratch databases and counting what was committed, in MySQL itself.
import { createMysqlConnection, createMysqlPool, Migrator } from '@watched/core';

const SERVER = process.env.WATCHED_BENCH_MYSQL ?? 'mysql://root@127.0.0.1:3306';

/** A fresh, migrated database `wbench_<name>_<pid>` (on `server`, default the shared one); `drop()` removes it. */
export async function scratchDatabase(name, poolSize = 4, server = SERVER) {
  const database = `wbench_${name.replace(/[^a-z0-9_]/gi, '_')}_${process.pid}`;
  const mysqlUrl = `${server.replace(/\/$/, '')}/${database}`;
  await new Migrator({ mysql: mysqlUrl }).migrate();
  const pool = createMysqlPool(mysqlUrl, { connectionLimit: poolSize });
  return {
    database,
    mysqlUrl,
    pool,
    async drop() {
      await pool.end().catch(() => undefined);
      const conn = await createMysqlConnection(server);
      await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await conn.end();
    },
  };
}

/** Every `d$` table of the database and its metric columns (all but owner, res_id, timestamp). */
export async function dataTableColumns(pool, like = 'd$%') {
  const [rows] = await pool.query(
    "SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE ? " +
      "AND COLUMN_NAME NOT IN ('host_id', 'serv_id', 'res_id', 'timestamp') ORDER BY TABLE_NAME, ORDINAL_POSITION",
    [like],
  );
  const tables = new Map();
  for (const { t, c } of rows) {
    if (!tables.has(t)) tables.set(t, []);
    tables.get(t).push(c);
  }
  return tables;
}

/**
 * Rows and values (non-NULL metric cells) of every `d$` table, read in one
 * consistent snapshot: the figure is the database at one instant, so the
 * difference of two counts is exactly what was committed in between.
 */
export async function countData(pool, like = 'd$%') {
  const tables = await dataTableColumns(pool, like);
  const conn = await pool.getConnection();
  try {
    await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
    const at = performance.now();
    let rows = 0;
    let values = 0;
    for (const [table, columns] of tables) {
      const cells = columns.length ? columns.map((c) => `COUNT(\`${c}\`)`).join(' + ') : '0';
      const [[r]] = await conn.query(`SELECT COUNT(*) AS n, ${cells} AS v FROM \`${table}\``);
      rows += Number(r.n);
      values += Number(r.v);
    }
    const [[polls]] = await conn.query('SELECT COUNT(*) AS n FROM `agt$history` WHERE ok = 1');
    await conn.query('COMMIT');
    return { at, rows, values, polls: Number(polls.n), countMs: Math.round(performance.now() - at) };
  } finally {
    conn.release();
  }
}
