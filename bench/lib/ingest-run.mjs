// One ingest measurement through the real path: a simulated fleet (own
// process, accelerated clock), `watched coordinator` and `watched worker`
// processes, agents polled every second (the coordinator's backpressure then
// keeps every group's next job waiting: workers never idle). After a warm-up
// (every agent polled once, tables and inventory created) the data committed
// in a fixed window is counted in MySQL.
import { loopbackAddress } from '@watched/agent-sim';
import { AgentRegistry } from '@watched/core';
import { BenchCluster } from './cluster.mjs';
import { countData } from './mysql-data.mjs';
import { findPid, freePort, REPO_ROOT, spawnFleet, UsageSampler } from './processes.mjs';
import { histogramQuantile, readGauges, readHistogram, sumHistograms } from './prometheus.mjs';
import { loadAverage } from './report.mjs';
import { runBaselines } from './baseline.mjs';

export const INGEST_DEFAULTS = {
  hosts: 2000,
  /** Fleet clock speed: 2,000 real-time hosts make ~47k values/s, less than the target; 10x makes ~470k/s. */
  speed: 10,
  /** Agent-time history one poll can return: 60 s = what a real agent returns to a 60 s poll. */
  bufferSeconds: 60,
  warmupSeconds: 30,
  durationSeconds: 60,
  workers: 1,
  workerConcurrency: 4,
  agentConcurrency: 16,
  groupSize: 50,
  /** Baselines: rows written again by the bare INSERT and LOAD DATA loops (0 = no baseline). */
  baselineRows: 1_000_000,
  baselineConnections: 4,
  /** Rows per multi-row INSERT (the worker's --insert-batch-rows and the INSERT baseline's). */
  batchRows: 1000,
  /** Rows per LOAD DATA statement of the LOAD DATA baseline. */
  loadBatchRows: 10_000,
  /** The worker's --write-method: load-data or insert. */
  writeMethod: 'load-data',
  /** Rows of several agents written in one transaction by the worker (its --write-batch-rows). */
  writeBatchRows: 20_000,
  /** 1: workers write a CPU profile (node --cpu-prof) into bench/results/profiles/. */
  profile: 0,
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function pollLatencies(urls) {
  return sumHistograms(await Promise.all(urls.map((u) => readHistogram(u, 'watched_poll_duration_seconds', 'outcome="ok"').catch(() => ({})))));
}

/**
 * Runs one measurement and returns its figures; `log` reports progress.
 * `mysqlServer`: another MySQL (e.g. a Galera cluster's URL).
 * `alongside(db, fleetNow)`, when given, starts work that runs during the
 * measured window (the `steady` scenario's rollups and retention) on the
 * fleet's clock, and returns an async stop() whose result lands in `result.alongside`.
 */
export async function runIngest(p, log = console.log, { mysqlServer, alongside } = {}) {
  const cluster = new BenchCluster(`ingest${p.workers}`, { mysqlServer });
  let fleet;
  try {
    await cluster.start();
    const db = cluster.database;
    fleet = await spawnFleet({ hosts: p.hosts, port: await freePort(), speed: p.speed, bufferMs: p.bufferSeconds * 1000 });
    // The fleet's clock (fleet-process.mjs): agent time runs `speed` times faster from the moment it was ready.
    const fleetOrigin = Date.now();
    const fleetNow = () => fleetOrigin + (Date.now() - fleetOrigin) * p.speed;
    await new AgentRegistry(db.pool).add(
      Array.from({ length: p.hosts }, (_, i) => ({ host: loopbackAddress(i), port: fleet.port, pollIntervalS: 1 })),
    );
    const flags = (port) => ['--admin-listen', `127.0.0.1:${port}`, '--log-level', 'warn'];
    const coordinator = cluster.spawn('coordinator', ['coordinator', ...flags(await freePort()), '--group-size', String(p.groupSize), '--job-retention', '5m']);
    const workerPorts = [];
    const workers = [];
    for (let i = 0; i < p.workers; i++) {
      workerPorts.push(await freePort());
      // Node refuses --cpu-prof in NODE_OPTIONS: the profile is taken by a preloaded inspector session.
      const profile = p.profile
        ? { NODE_OPTIONS: `--import=${REPO_ROOT}bench/lib/cpu-profile.mjs`, WATCHED_CPU_PROFILE_DIR: `${REPO_ROOT}bench/results/profiles` }
        : {};
      workers.push(
        cluster.spawn(
          `worker${i + 1}`,
          [
            'worker',
            ...flags(workerPorts.at(-1)),
            '--worker-concurrency', String(p.workerConcurrency),
            '--agent-concurrency', String(p.agentConcurrency),
            '--insert-batch-rows', String(p.batchRows),
            '--write-batch-rows', String(p.writeBatchRows),
            '--write-method', p.writeMethod,
            '--publish-alerts', 'false',
          ],
          profile,
        ),
      );
    }
    const metricsUrls = workerPorts.map((port) => `http://127.0.0.1:${port}/metrics`);

    // Warm-up: at least warmupSeconds, and until every agent has been polled once (tables, inventory, discovery cached).
    const warmStart = performance.now();
    for (;;) {
      await sleep(2000);
      const [[{ n }]] = await db.pool.query('SELECT COUNT(*) AS n FROM `agt$state` WHERE since IS NOT NULL');
      const elapsed = (performance.now() - warmStart) / 1000;
      if (Number(n) >= p.hosts && elapsed >= p.warmupSeconds) break;
      if (elapsed > Math.max(180, p.warmupSeconds * 2)) throw new Error(`warm-up: only ${n} of ${p.hosts} agents polled after ${Math.round(elapsed)} s`);
    }
    log(`warm-up done in ${Math.round((performance.now() - warmStart) / 1000)} s; measuring ${p.durationSeconds} s (load ${loadAverage()})`);

    const pids = { coordinator: coordinator.pid, agentSim: fleet.pid, mysqld: findPid(['mariadbd', 'mysqld']), redis: cluster.redisServer.server.pid };
    workers.forEach((w, i) => (pids[`worker${i + 1}`] = w.pid));
    const sampler = new UsageSampler(Object.fromEntries(Object.entries(pids).filter(([, pid]) => pid)));
    const loadBefore = loadAverage();
    const latency0 = await pollLatencies(metricsUrls);
    const stopAlongside = alongside ? await alongside(db, fleetNow) : undefined;
    const c0 = await countData(db.pool);
    // A profiled worker starts its profile again here (bench/lib/cpu-profile.mjs): the window only, no warm-up.
    if (p.profile) for (const w of workers) process.kill(w.pid, 'SIGUSR2');
    sampler.start();
    await sleep(p.durationSeconds * 1000);
    const c1 = await countData(db.pool);
    const usage = sampler.stop();
    const alongsideResult = stopAlongside ? await stopAlongside() : undefined;
    const latency1 = await pollLatencies(metricsUrls);
    const MB = 2 ** 20;
    const workerMemory = await Promise.all(
      metricsUrls.map(async (url) => {
        const g = await readGauges(url, ['nodejs_heap_size_used_bytes', 'nodejs_heap_size_total_bytes', 'nodejs_external_memory_bytes', 'process_resident_memory_bytes']).catch(() => ({}));
        return Object.fromEntries(Object.entries(g).map(([k, v]) => [k.replace(/^(nodejs|process)_/, '').replace(/_bytes$/, 'MB'), Math.round(v / MB)]));
      }),
    );
    const loadAfter = loadAverage();
    // SIGTERM (not the cluster's SIGKILL): a profiled worker writes its profile on a clean exit.
    for (const role of [coordinator, ...workers]) await role.stop('SIGTERM', 40_000).catch(() => undefined);

    const seconds = (c1.at - c0.at) / 1000;
    const [failed] = await db.pool.query('SELECT COUNT(*) AS n FROM `agt$history` WHERE ok = 0');
    const workerUsage = Object.entries(usage).filter(([k]) => k.startsWith('worker'));
    // CPU per stored value of the whole pipeline (workers, coordinator, MariaDB, Redis), the simulated fleet apart.
    // MariaDB is the shared server: whatever else runs on it in the window is counted too.
    const pipelineCpuSeconds = Object.entries(usage)
      .filter(([k]) => k !== 'agentSim' && k !== 'machine')
      .reduce((sum, [, u]) => sum + u.cpuCores * seconds, 0);
    const valuesCommitted = c1.values - c0.values;
    const result = {
      seconds: +seconds.toFixed(1),
      valuesPerSecond: Math.round((c1.values - c0.values) / seconds),
      rowsPerSecond: Math.round((c1.rows - c0.rows) / seconds),
      pollsPerSecond: +((c1.polls - c0.polls) / seconds).toFixed(1),
      pollLatencyP50: round3(histogramQuantile(latency0, latency1, 0.5)),
      pollLatencyP99: round3(histogramQuantile(latency0, latency1, 0.99)),
      workerCpuCores: +workerUsage.reduce((s, [, u]) => s + u.cpuCores, 0).toFixed(2),
      cpuMicrosPerValue: +((pipelineCpuSeconds / Math.max(1, valuesCommitted)) * 1e6).toFixed(2),
      cpuMicrosPerValueByProcess: Object.fromEntries(
        Object.entries(usage)
          .filter(([k]) => k !== 'machine')
          .map(([k, u]) => [k, +(((u.cpuCores * seconds) / Math.max(1, valuesCommitted)) * 1e6).toFixed(2)]),
      ),
      workerPeakRssMB: Math.max(...workerUsage.map(([, u]) => u.peakRssMB)),
      workerMemory,
      failedPolls: Number(failed[0].n),
      valuesCommitted,
      rowsCommitted: c1.rows - c0.rows,
      rowsInDatabase: c1.rows,
      countMs: [c0.countMs, c1.countMs],
      usage,
      loadAverage: { before: loadBefore, after: loadAfter },
      ...(alongsideResult ? { alongside: alongsideResult } : {}),
    };
    if (p.baselineRows > 0) {
      await fleet.stop();
      fleet = undefined;
      log(`baselines: bare multi-row INSERT, then LOAD DATA LOCAL INFILE, over up to ${p.baselineRows.toLocaleString('en-US')} of those rows (load ${loadAverage()})`);
      const baselineUsage = () => new UsageSampler(Object.fromEntries(Object.entries({ mysqld: pids.mysqld, client: process.pid }).filter(([, pid]) => pid)));
      const baselines = await runBaselines(
        db.pool,
        { maxRows: p.baselineRows, connections: p.baselineConnections, insertBatchRows: p.batchRows, loadBatchRows: p.loadBatchRows },
        baselineUsage,
      );
      baselines.loadAverage = loadAverage();
      result.baselines = baselines;
      const faster = Math.max(baselines.insert.valuesPerSecond, baselines.loadData.valuesPerSecond);
      result.ratios = {
        insert: +(result.valuesPerSecond / baselines.insert.valuesPerSecond).toFixed(2),
        loadData: +(result.valuesPerSecond / baselines.loadData.valuesPerSecond).toFixed(2),
      };
      /** Pipeline / the faster of the two baselines: the figure of target 1. */
      result.ratio = +(result.valuesPerSecond / faster).toFixed(2);
    }
    return result;
  } finally {
    await fleet?.stop().catch(() => undefined);
    await cluster.close();
  }
}

function round3(x) {
  return x === undefined ? undefined : +x.toFixed(3);
}
