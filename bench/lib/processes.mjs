// Child processes of a benchmark (the accelerated simulated fleet) and
// what they cost: CPU seconds and RSS read from /proc.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FLEET_SCRIPT = fileURLToPath(new URL('./fleet-process.mjs', import.meta.url));
const CLOCK_TICKS = 100; // USER_HZ on Linux

export { freePort } from '@watched/core/testing';

/** A child process with its output kept (the tail is shown if it dies). */
export class Child {
  constructor(label, args, env = {}) {
    this.label = label;
    this.output = [];
    this.child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk) => {
      this.output.push(chunk.toString());
      if (this.output.length > 200) this.output.splice(0, 100);
    };
    this.child.stdout.on('data', keep);
    this.child.stderr.on('data', keep);
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve(code ?? signal)));
    this.child.on('exit', (code, signal) => {
      if (!this.stopping) console.error(`${label} exited early (${code ?? signal}):\n${this.output.join('').slice(-2000)}`);
    });
  }

  get pid() {
    return this.child.pid;
  }

  /** Resolves when the output contains `text` (or rejects after `timeoutMs`). */
  async waitFor(text, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    while (!this.output.join('').includes(text)) {
      if (Date.now() > deadline) throw new Error(`${this.label}: no "${text}" within ${timeoutMs} ms:\n${this.output.join('').slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(timeoutMs = 40_000) {
    this.stopping = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The simulated fleet in its own process (see fleet-process.mjs). */
export async function spawnFleet({ hosts, port, speed, bufferMs }) {
  const fleet = new Child('agent-sim', [FLEET_SCRIPT, String(hosts), String(port), String(speed), String(bufferMs)]);
  fleet.port = port;
  await fleet.waitFor('ready');
  return fleet;
}

/** CPU seconds (user + system) and RSS of a process, from /proc. */
export function processUsage(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpuSeconds, rssMB: rss ? Math.round(Number(rss[1]) / 1024) : 0 };
  } catch {
    return { cpuSeconds: 0, rssMB: 0 };
  }
}

/** Pid of the oldest process whose command name is one of `names` (e.g. the MariaDB server), to read its usage. */
export function findPid(names) {
  for (const name of names) {
    try {
      const pid = Number(execFileSync('pgrep', ['-x', '-o', name], { encoding: 'utf8' }).trim());
      if (pid) return pid;
    } catch {
      // not running under this name
    }
  }
  return undefined;
}

/** Busy CPU seconds of the whole machine (all processes, ours and others'), from /proc/stat. */
export function machineBusySeconds() {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = cpu[3] + (cpu[4] ?? 0);
  return (cpu.reduce((a, b) => a + b, 0) - idle) / CLOCK_TICKS;
}

/**
 * Samples the usage of named processes every second between start() and
 * stop(): CPU seconds used over the window, peak and mean RSS.
 */
export class UsageSampler {
  constructor(pids) {
    this.pids = pids; // { label: pid }
  }

  start() {
    this.first = Object.fromEntries(Object.entries(this.pids).map(([k, pid]) => [k, processUsage(pid)]));
    this.machine0 = machineBusySeconds();
    this.t0 = performance.now();
    this.peak = Object.fromEntries(Object.keys(this.pids).map((k) => [k, 0]));
    this.timer = setInterval(() => {
      for (const [k, pid] of Object.entries(this.pids)) this.peak[k] = Math.max(this.peak[k], processUsage(pid).rssMB);
    }, 1000);
  }

  stop() {
    clearInterval(this.timer);
    const seconds = (performance.now() - this.t0) / 1000;
    const usage = {};
    for (const [k, pid] of Object.entries(this.pids)) {
      const now = processUsage(pid);
      usage[k] = { cpuCores: +((now.cpuSeconds - this.first[k].cpuSeconds) / seconds).toFixed(2), rssMB: now.rssMB, peakRssMB: Math.max(this.peak[k], now.rssMB) };
    }
    usage.machine = { cpuCores: +((machineBusySeconds() - this.machine0) / seconds).toFixed(2) };
    return usage;
  }
}
