/**
 * A strict reader of the Prometheus text exposition format: every line is a
 * comment (# HELP / # TYPE) or `name{labels} value`; throws on anything else.
 * Returns the samples by series (`name{label="value",...}` as written).
 */
export function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|[Nn][Aa][Nn]|[+-]Inf)( -?\d+)?$/;
  for (const line of text.split('\n')) {
    if (line === '' || /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*/.test(line)) continue;
    const match = sample.exec(line);
    if (!match) throw new Error(`not exposition format: ${JSON.stringify(line)}`);
    samples.set(match[1] + (match[2] ?? ''), Number(match[3]));
  }
  return samples;
}
