#!/usr/bin/env node
// `npm run bench -- SCENARIO [args...]`: runs one benchmark scenario (they
// write bench/results/<scenario>.json and print a table). Benchmarks measure;
// they are not tests and CI does not run them. Build first (`npm run build`).
import { spawnSync } from 'node:child_process';

const SCENARIOS = {
  ingest: { script: 'bench/ingest.mjs', about: 'N hosts polled as fast as the pipeline can: values/s in MySQL vs a bare INSERT loop [--hosts=2000] [--speed=10] [--durationSeconds=60]' },
  'write-methods': { script: 'bench/write-methods.mjs', about: 'the worker\'s row writers (INSERT upsert, INSERT IGNORE, LOAD DATA REPLACE / IGNORE) against a private MariaDB: CPU per value [--timestamps=100]' },
  workers: { script: 'bench/workers.mjs', about: 'ingest throughput with 1 and with 2 worker processes [--counts=1,2]' },
  schedule: { script: 'bench/schedule.mjs', about: "the leader's tick for 10k/100k/1M agents: time, Redis commands, memory [--agents=10000,100000,1000000]" },
  fleet: { script: 'bench/fleet.mjs', about: '10,000 hosts at 60 s in real time: lag percentiles, worker RSS [--hosts=10000] [--minutes=3]' },
  hanging: { script: 'bench/hanging.mjs', about: 'N agents, a share hanging (accept, never answer) in the same groups: healthy poll spacing p50/p99/max, queue depth [--agents=1000] [--shares=0,0.8] [--intervalSeconds=30] [--minutes=3]' },
  failover: { script: 'bench/failover.mjs', about: 'kill -9 / SIGTERM the leader, kill -9 a worker, kill -9 the Redis master (Sentinel, Cluster): takeover times [--crashes=5] [--redisKills=2]' },
  steady: { script: 'bench/steady.mjs', about: 'ingest with rollups and retention (partition drops) running, vs insert-only ingest in the same run [--hosts=2000] [--durationSeconds=60]' },
  retention: { script: 'bench/retention.mjs', about: 'retention of one day of N hosts: DELETE batches vs partition drop [--hosts=1000]' },
  rollup: { script: 'bench/rollup.mjs', about: 'one day of 5-second data rolled up to minute/hour/day [--hosts=1000]' },
  discovery: { script: 'bench/discovery.mjs', about: 'one discovery pass over a file source of N agents: first, steady, churn, retirement, mass drop [--agents=10000] [--format=json|yaml|csv]' },
  upgrade: { script: 'bench/upgrade.mjs', about: 'watched migrate on a watched.back database: conversion time per million rows, reads/writes meanwhile [--rows=1000000]' },
};

const [scenario, ...args] = process.argv.slice(2);
if (!scenario || !(scenario in SCENARIOS)) {
  console.log('usage: npm run bench -- SCENARIO [args]\n');
  for (const [name, { about }] of Object.entries(SCENARIOS)) console.log(`  ${name.padEnd(14)} ${about}`);
  process.exit(scenario ? 2 : 0);
}
const { status } = spawnSync(process.execPath, [SCENARIOS[scenario].script, ...args], { stdio: 'inherit' });
process.exit(status ?? 1);
