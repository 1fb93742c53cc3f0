// One day of 5-second cpu_usage data for N hosts (one resource, two metrics:
// 17,280 rows per host), generated with MariaDB's SEQUENCE engine into an
// existing d$ table, one statement per 100 hosts in key order. Shared by the
// `rollup` and `retention` scenarios.

/** Inventory for `hosts` hosts linked to resource 1 (a `cpu_usage` resource named `resourceName`). */
export async function seedHosts(pool, hosts, dataType = 'cpu_usage') {
  await pool.query("INSERT INTO `c$ressources` (id, name, origin, data_type) VALUES (1, 'cpuuse/all', 'host', ?)", [dataType]);
  await pool.query(`INSERT INTO \`h$hosts\` (id, name) SELECT seq, CONCAT('host-', seq) FROM seq_1_to_${hosts}`);
  await pool.query(`INSERT INTO \`h$ressources\` (host_id, res_id) SELECT seq, 1 FROM seq_1_to_${hosts}`);
}

/** The d$ layout before issue 18 (foreign key to the resource link, no partitions), with the aggregator's time index when `timeIndex`. */
export function legacyCpuTableSql(table, timeIndex = false) {
  return (
    `CREATE TABLE \`${table}\` (host_id INT UNSIGNED NOT NULL, res_id INT UNSIGNED NOT NULL, \`timestamp\` DOUBLE NOT NULL, ` +
    '`user` DOUBLE NULL, `system` DOUBLE NULL, PRIMARY KEY (host_id, res_id, `timestamp`), ' +
    (timeIndex ? 'KEY `watched_timestamp_i` (`timestamp`), ' : '') +
    `CONSTRAINT \`fk_${table}\` FOREIGN KEY (host_id, res_id) REFERENCES \`h$ressources\` (host_id, res_id) ON DELETE CASCADE) ENGINE=InnoDB`
  );
}

/** Fills `table` with one day from `t0`; returns the row count. */
export async function generateDay(pool, table, hosts, t0) {
  for (let h = 1; h <= hosts; h += 100) {
    await pool.query(
      `INSERT INTO \`${table}\` SELECT h.seq, 1, ${t0} + s.seq * 5000 + (h.seq MOD 997) / 4, (h.seq * s.seq) MOD 800 / 8, (h.seq + s.seq) MOD 400 / 8
         FROM seq_${h}_to_${Math.min(h + 99, hosts)} h, seq_0_to_17279 s`,
    );
  }
  const [[{ n }]] = await pool.query(`SELECT COUNT(*) AS n FROM \`${table}\``);
  return Number(n);
}
