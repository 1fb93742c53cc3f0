import { errorRecord } from './error-record.js';
import type { Logger } from './logger.js';
import { secrets } from './secret-registry.js';

let scrubbing = false;

/**
 * The last line of defence: every write to stdout and stderr of the process
 * (command output, `console.error` of a library, a status table) passes the
 * secret registry first, so a configured secret is never printed whoever
 * prints it. Logs are redacted before this already; installed once per
 * process by the CLI.
 */
export function scrubProcessOutput(): void {
  if (scrubbing) return;
  scrubbing = true;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (secrets.size === 0) return write(chunk, ...rest);
      if (typeof chunk === 'string') return write(secrets.scrub(chunk), ...rest);
      if (Buffer.isBuffer(chunk)) {
        const text = chunk.toString('utf8');
        const clean = secrets.scrub(text);
        return write(clean === text ? chunk : clean, ...rest);
      }
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
}

/**
 * Process warnings (a listener leak, a deprecation, an experimental
 * feature) go through the logger like any other line: one JSON line under
 * `--log-format json`, never Node's own multi-line print.
 */
export function logProcessWarnings(logger: Logger): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error) => logger.warn(`process warning: ${warning.name}: ${warning.message}`, { warning: errorRecord(warning) }));
}
