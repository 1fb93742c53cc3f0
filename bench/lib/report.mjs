// What every benchmark result carries (machine, versions, load, parameters)
// and how it is written (bench/results/<scenario>.json) and printed.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { REPO_ROOT } from './processes.mjs';

function packageVersion(name) {
  try {
    return JSON.parse(readFileSync(`${REPO_ROOT}node_modules/${name}/package.json`, 'utf8')).version;
  } catch {
    return undefined;
  }
}

function gitCommit() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    return dirty ? `${commit}+changes` : commit;
  } catch {
    return undefined;
  }
}

/** 1-minute load average: the machine may be shared, so each figure carries it. */
export function loadAverage() {
  return +os.loadavg()[0].toFixed(2);
}

/** Machine and software versions; `pool` (optional) adds the MySQL server version. */
export async function machineInfo(pool) {
  let mysqlVersion;
  if (pool) [[{ v: mysqlVersion }]] = await pool.query('SELECT VERSION() AS v');
  let redisVersion;
  try {
    redisVersion = /redis_version:(\S+)/.exec(execFileSync('redis-cli', ['INFO', 'server'], { encoding: 'utf8' }))?.[1];
  } catch {
    redisVersion = undefined;
  }
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memGB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    mysql: mysqlVersion,
    redis: redisVersion,
    bullmq: packageVersion('bullmq'),
    mysql2: packageVersion('mysql2'),
    commit: gitCommit(),
    loadAverageAtStart: os.loadavg().map((l) => +l.toFixed(2)),
  };
}

/** Writes bench/results/<scenario>.json and returns its path. */
export function writeResult(scenario, body) {
  mkdirSync(`${REPO_ROOT}bench/results`, { recursive: true });
  const path = `${REPO_ROOT}bench/results/${scenario}.json`;
  writeFileSync(path, JSON.stringify({ scenario, date: new Date().toISOString(), ...body }, null, 2) + '\n');
  return path;
}

/** A small aligned table: rows of [label, value...]. */
export function printTable(title, header, rows) {
  const all = [header, ...rows].map((r) => r.map((c) => (typeof c === 'number' ? c.toLocaleString('en-US') : String(c ?? ''))));
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  console.log(`\n${title}`);
  for (const [n, r] of all.entries()) {
    console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
    if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

/** `--name=value` flags over defaults; numbers stay numbers. Unknown flags are refused. */
export function parseFlags(argv, defaults, usage) {
  const options = { ...defaults };
  for (const arg of argv) {
    const m = /^--([a-zA-Z]+)=(.*)$/.exec(arg);
    if (!m || !(m[1] in defaults)) {
      console.error(`unknown argument ${arg}\n${usage}`);
      process.exit(2);
    }
    const value = typeof defaults[m[1]] === 'number' ? Number(m[2]) : m[2];
    if (typeof value === 'number' && !Number.isFinite(value)) {
      console.error(`--${m[1]} must be a number, got ${m[2]}`);
      process.exit(2);
    }
    options[m[1]] = value;
  }
  return options;
}
