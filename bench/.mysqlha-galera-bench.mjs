import { galeraWriterKills } from '/work/wt/mysql-ha/bench/lib/failover-galera.mjs';
console.log(await import('node:fs').then((f) => f.readFileSync('/proc/loadavg', 'utf8')));
const r = await galeraWriterKills(2);
console.log(JSON.stringify(r));
console.log(await import('node:fs').then((f) => f.readFileSync('/proc/loadavg', 'utf8')));
process.exit(0);
