import winston from 'winston';

export type Logger = winston.Logger;

export interface LoggerOptions {
  level?: 'error' | 'warn' | 'info' | 'debug';
  /** json for collectors; pretty for terminals. Default: pretty when stdout is a TTY. */
  format?: 'json' | 'pretty';
  /** Written to stderr instead of stdout (keeps stdout for command output). */
  stderr?: boolean;
  /** Added to every line (e.g. role, nodeId). */
  defaultMeta?: Record<string, unknown>;
  /** Silence everything (tests). */
  silent?: boolean;
}

const prettyFormat = winston.format.printf((info) => {
  const { level, message, timestamp, role, stack, ...rest } = info as Record<string, unknown>;
  const meta = Object.entries(rest)
    .filter(([k]) => typeof k === 'string')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const who = role ? `[${String(role)}] ` : '';
  return `${String(timestamp)} ${String(level)} ${who}${String(message)}${meta ? ' ' + meta : ''}${stack ? '\n' + String(stack) : ''}`;
});

/** One winston logger per process; roles take `logger.child({ role })`. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? (process.stdout.isTTY ? 'pretty' : 'json');
  return winston.createLogger({
    level: options.level ?? 'info',
    silent: options.silent ?? false,
    defaultMeta: options.defaultMeta,
    format:
      format === 'json'
        ? winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json())
        : winston.format.combine(
            winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
            winston.format.errors({ stack: true }),
            ...(process.stdout.isTTY ? [winston.format.colorize()] : []),
            prettyFormat,
          ),
    transports: [
      new winston.transports.Console({
        stderrLevels: options.stderr ? ['error', 'warn', 'info', 'debug'] : ['error'],
      }),
    ],
  });
}
