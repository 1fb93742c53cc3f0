// A private 3-node MariaDB Galera cluster for bench scenarios (core testing's
// GaleraCluster: own ports and folder, fast failure detection, removed by
// stop()), and the ingest comparison: the same ingest run on the Galera
// writer beside the standalone MariaDB, the ratio of the two in one run.
import { GaleraCluster } from '@watched/core/testing';
import { runIngest } from './ingest-run.mjs';
import { loadAverage } from './report.mjs';

/** Starts the cluster, logging how long it took (the joins are rsync SSTs: tens of seconds on a busy machine). */
export async function startGalera(log = console.log) {
  const started = performance.now();
  const galera = await GaleraCluster.start();
  log(`galera: 3 nodes synced in ${Math.round((performance.now() - started) / 1000)} s (load ${loadAverage()})`);
  return galera;
}

/**
 * `ingest --galera`: the ingest measurement on the Galera writer, through the
 * multi-host URL of the three nodes, with the same parameters as the
 * standalone run it is compared with (`standalone`: that run's result).
 */
export async function galeraIngest(params, standalone, log = console.log) {
  const galera = await startGalera(log);
  try {
    log('ingest on the Galera writer (3 nodes, multi-host URL)');
    const result = await runIngest({ ...params, baselineRows: 0 }, log, { mysqlServer: galera.url() });
    return { result, ratio: round(result.valuesPerSecond / standalone.valuesPerSecond) };
  } finally {
    await galera.stop();
  }
}

const round = (x) => Math.round(x * 1000) / 1000;
