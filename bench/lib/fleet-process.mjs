#!/usr/bin/env node
// A simulated fleet in its own process (so its CPU is measured apart from the
// worker's), on a clock running `speed` times faster than real time: each
// poll then finds `speed` times more agent data, as from a fleet sampling
// faster. `bufferMs` (agent time) bounds what one poll can return.
// Usage: node bench/lib/fleet-process.mjs HOSTS PORT SPEED BUFFER_MS
// Prints "ready" on stdout once listening; stops on SIGTERM.
import { AgentFleet } from '@watched/agent-sim';

const [hosts, port, speed, bufferMs] = process.argv.slice(2).map(Number);
const origin = performance.timeOrigin + performance.now();
const fleet = new AgentFleet({
  hosts,
  port,
  bufferMs,
  // Same payloads as a real-time fleet, only denser in time.
  now: () => origin + (performance.timeOrigin + performance.now() - origin) * speed,
});
await fleet.start();
process.stdout.write('ready\n');
process.on('SIGTERM', () => void fleet.close().then(() => process.exit(0)));
