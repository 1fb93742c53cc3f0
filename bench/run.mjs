#!/usr/bin/env node
// `npm run bench -- SCENARIO [args...]`: runs one benchmark scenario (they
// write bench/results/<scenario>.json and print a table). Benchmarks measure;
// they are not tests and CI does not run them. Build first (`npm run build`).
import { spawnSync } from 'node:child_process';

const SCENARIOS = {
  cycle: { script: 'bench/cycle.mjs', about: 'one poll cycle of N simulated hosts through BullMQ and a worker: [hosts=1000] [intervalSeconds=60]' },
  'schedule-tick': { script: 'bench/schedule-tick.mjs', about: "the leader's scheduling tick for many agents (own redis-server)" },
  'rollup-day': { script: 'packages/aggregator/bench/rollup-day.mjs', about: 'one day of 5-second data rolled up to minute/hour/day' },
};

const [scenario, ...args] = process.argv.slice(2);
if (!scenario || !(scenario in SCENARIOS)) {
  console.log('usage: npm run bench -- SCENARIO [args]\n');
  for (const [name, { about }] of Object.entries(SCENARIOS)) console.log(`  ${name.padEnd(14)} ${about}`);
  process.exit(scenario ? 2 : 0);
}
const { status } = spawnSync(process.execPath, [SCENARIOS[scenario].script, ...args], { stdio: 'inherit' });
process.exit(status ?? 1);
