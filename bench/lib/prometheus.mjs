// Reads a histogram from a role's /metrics and turns two readings into percentiles.

/** Cumulative bucket counts `{ le: count }` of histogram `name` (summed over labels matching `labels`). */
export async function readHistogram(url, name, labels = '') {
  const text = await (await fetch(url)).text();
  const buckets = {};
  const pattern = new RegExp(`^${name}_bucket\\{([^}]*)\\} (\\S+)$`, 'gm');
  for (const [, labelText, value] of text.matchAll(pattern)) {
    if (labels && !labelText.includes(labels)) continue;
    const le = /le="([^"]+)"/.exec(labelText)[1];
    buckets[le] = (buckets[le] ?? 0) + Number(value);
  }
  return buckets;
}

/** Adds cumulative bucket readings of several processes. */
export function sumHistograms(readings) {
  const total = {};
  for (const r of readings) for (const [le, n] of Object.entries(r)) total[le] = (total[le] ?? 0) + n;
  return total;
}

/**
 * Quantile `q` of the observations between two readings, interpolated
 * linearly inside the bucket it falls in (as Prometheus' histogram_quantile).
 */
export function histogramQuantile(before, after, q) {
  const les = Object.keys(after).sort((a, b) => Number(a) - Number(b));
  const ordered = [...les.filter((l) => l !== '+Inf'), '+Inf'];
  const counts = ordered.map((le) => (after[le] ?? 0) - (before[le] ?? 0));
  const total = counts.at(-1);
  if (!total) return undefined;
  const rank = q * total;
  let lower = 0;
  for (const [i, le] of ordered.entries()) {
    if (counts[i] >= rank) {
      if (le === '+Inf') return Number(ordered[i - 1]);
      const below = i === 0 ? 0 : counts[i - 1];
      const upper = Number(le);
      return lower + ((upper - lower) * (rank - below)) / Math.max(1, counts[i] - below);
    }
    lower = Number(le);
  }
  return undefined;
}

/** Values of plain (unlabelled) gauges of a role's /metrics, by name. */
export async function readGauges(url, names) {
  const text = await (await fetch(url)).text();
  const values = {};
  for (const name of names) {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
    if (m) values[name] = Number(m[1]);
  }
  return values;
}
