// Times the rollup of one day of 5-second data for N hosts (default 1000),
// one resource each, two metrics: 17,280 rows per host.
//   node packages/aggregator/bench/rollup-day.mjs [hosts]   (after npm run build)
// Uses a scratch database wb_rollup_bench on WATCHED_TEST_MYSQL_SERVER (dropped at the end).
import { createLogger, createMysqlConnection, createMysqlPool, Migrator } from '@watched/core';
import { RollupPass, DAY_MS, HOUR_MS, MINUTE_MS } from '@watched/aggregator';

const hosts = Number(process.argv[2] ?? 1000);
const server = (process.env.WATCHED_TEST_MYSQL_SERVER ?? 'mysql://root@127.0.0.1:3306').replace(/\/$/, '');
const database = 'wb_rollup_bench';
const mysqlUrl = `${server}/${database}`;
const T0 = Date.UTC(2026, 0, 10);
const logger = createLogger({ level: 'info', format: 'pretty' });
const seconds = (t) => ((performance.now() - t) / 1000).toFixed(1);

const admin = await createMysqlConnection(server);
await admin.query(`DROP DATABASE IF EXISTS ${database}`);
await admin.end();
await new Migrator({ mysqlUrl }).migrate();
const pool = createMysqlPool(mysqlUrl, { connectionLimit: 4 });
try {
  let t = performance.now();
  await pool.query("INSERT INTO `c$ressources` (id, name, origin, data_type) VALUES (1, 'cpuuse/all', 'host', 'cpu_usage')");
  await pool.query(`INSERT INTO \`h$hosts\` (id, name) SELECT seq, CONCAT('host-', seq) FROM seq_1_to_${hosts}`);
  await pool.query(`INSERT INTO \`h$ressources\` (host_id, res_id) SELECT seq, 1 FROM seq_1_to_${hosts}`);
  await pool.query(
    'CREATE TABLE `d$cpu_usage` (host_id INT UNSIGNED NOT NULL, res_id INT UNSIGNED NOT NULL, `timestamp` DOUBLE NOT NULL, ' +
      '`user` DOUBLE NULL, `system` DOUBLE NULL, PRIMARY KEY (host_id, res_id, `timestamp`), ' +
      'CONSTRAINT `fk_d$cpu_usage` FOREIGN KEY (host_id, res_id) REFERENCES `h$ressources` (host_id, res_id) ON DELETE CASCADE) ENGINE=InnoDB',
  );
  // One statement per 100 hosts, in key order.
  for (let h = 1; h <= hosts; h += 100) {
    await pool.query(
      `INSERT INTO \`d$cpu_usage\` SELECT h.seq, 1, ${T0} + s.seq * 5000 + (h.seq MOD 997) / 4, (h.seq * s.seq) MOD 800 / 8, (h.seq + s.seq) MOD 400 / 8
         FROM seq_${h}_to_${Math.min(h + 99, hosts)} h, seq_0_to_17279 s`,
    );
  }
  const [[{ n }]] = await pool.query('SELECT COUNT(*) AS n FROM `d$cpu_usage`');
  logger.info(`generated ${n} rows in ${seconds(t)} s`);

  const pass = new RollupPass(
    pool,
    { chunk: { am: 10 * MINUTE_MS, ah: 2 * HOUR_MS, ad: DAY_MS }, lateWindow: 2 * HOUR_MS, lateCheckInterval: 0, deleteBatch: 5000 },
    logger,
  );
  // First pass: adds the d$ time index, creates am$/ah$/ad$, rolls everything up (retention: nothing is old enough).
  t = performance.now();
  await pass.run({ now: T0 + 2 * DAY_MS + HOUR_MS, term: 1, active: () => true });
  logger.info(`first pass (index build + rollup of every level) in ${seconds(t)} s`, pass.stats);
  // Steady state: a pass with nothing new to do (the late-row check over the 2 h window included).
  t = performance.now();
  await pass.run({ now: T0 + 2 * DAY_MS + HOUR_MS + MINUTE_MS, term: 1, active: () => true });
  logger.info(`idle pass in ${seconds(t)} s`);
  for (const table of ['am$cpu_usage', 'ah$cpu_usage', 'ad$cpu_usage']) {
    const [[{ c }]] = await pool.query(`SELECT COUNT(*) AS c FROM \`${table}\``);
    logger.info(`${table}: ${c} rows`);
  }
} finally {
  await pool.end();
  if (!process.env.KEEP) {
    const conn = await createMysqlConnection(server);
    await conn.query(`DROP DATABASE IF EXISTS ${database}`);
    await conn.end();
  }
}
