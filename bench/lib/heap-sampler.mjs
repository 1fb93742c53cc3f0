import { readGauges } from './prometheus.mjs';

/**
 * The workers' V8 heap over the window, from their /metrics every 5 s: peak
 * and last heap used (live data plus garbage not yet collected) and heap
 * total (what V8 holds from the system), in MB.
 */
export class HeapSampler {
  constructor(targets) {
    this.targets = targets;
    this.figures = Object.fromEntries(targets.map(([label]) => [label, { 'heap used MB (peak)': 0, 'heap total MB (peak)': 0 }]));
  }

  start() {
    this.timer = setInterval(() => void this.sample(), 5000);
  }

  async stop() {
    clearInterval(this.timer);
    await this.sample();
    return this.figures;
  }

  async sample() {
    const MB = 2 ** 20;
    await Promise.all(
      this.targets.map(async ([label, url]) => {
        const g = await readGauges(url, ['nodejs_heap_size_used_bytes', 'nodejs_heap_size_total_bytes']).catch(() => undefined);
        if (!g?.nodejs_heap_size_used_bytes) return;
        const f = this.figures[label];
        const used = Math.round(g.nodejs_heap_size_used_bytes / MB);
        f['heap used MB (peak)'] = Math.max(f['heap used MB (peak)'], used);
        f['heap total MB (peak)'] = Math.max(f['heap total MB (peak)'], Math.round(g.nodejs_heap_size_total_bytes / MB));
        f['heap used MB (end)'] = used;
      }),
    );
  }
}
