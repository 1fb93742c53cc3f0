import v8 from 'node:v8';

/**
 * Bounds how far V8 lets the heap grow past its live data before the next
 * full collection: after each major GC the old-space limit becomes live
 * size x (1 + percent / 100). V8's own heuristic grows it up to 4x when the
 * allocation rate is high, which a worker's steady stream of short-lived
 * poll data always is: on a machine with much memory, a worker with ~150 MB
 * live then sat at 600-900 MB RSS. Unlike --max-old-space-size this is no
 * ceiling (a worker that needs more still gets it; nothing dies of a low
 * cap), only a tighter growth step, at the cost of more frequent major
 * GCs. V8 reads the flag at each GC, so setting it at start-up applies to
 * the whole process (all roles of a `watched up`). 0 leaves V8's default.
 */
export function limitHeapGrowth(percent: number): void {
  if (percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${Math.round(percent)}`);
}
