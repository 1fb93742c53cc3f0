import { closeSync, openSync } from 'node:fs';
import winston from 'winston';
import { ConsoleTransport } from './console-transport.js';
import { ConfigError, errorMessage } from './errors.js';
import { redactSecrets } from './log-redaction.js';

export type Logger = winston.Logger;

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface LoggerOptions {
  level?: LogLevel;
  /** json for collectors; pretty for terminals. Default: pretty when stdout is a TTY. */
  format?: 'json' | 'pretty';
  /** Written to stderr instead of stdout (keeps stdout for command output). */
  stderr?: boolean;
  /**
   * Append to this file instead of the console (JSON lines unless `format`
   * says pretty). `reconfigureLogger` reopens it, so logrotate can move it
   * away and send SIGHUP.
   */
  file?: string;
  /** Added to every line (e.g. role, nodeId). */
  defaultMeta?: Record<string, unknown>;
  /** Silence everything (tests). */
  silent?: boolean;
}

const prettyFormat = winston.format.printf((info) => {
  // The node id is on every JSON line (for collectors); a terminal shows one process, so its lines leave it out.
  const { level, message, timestamp, role, stack, nodeId: _nodeId, ...rest } = info as Record<string, unknown>;
  const meta = Object.entries(rest)
    .filter(([k]) => typeof k === 'string')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const who = role ? `[${String(role)}] ` : '';
  return `${String(timestamp)} ${String(level)} ${who}${String(message)}${meta ? ' ' + meta : ''}${stack ? '\n' + String(stack) : ''}`;
});

/** How lines are rendered; one place, so a reload renders exactly as start-up did. */
function lineFormat(format: 'json' | 'pretty', colors: boolean): winston.Logform.Format {
  return format === 'json'
    ? winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), redactSecrets(), winston.format.json())
    : winston.format.combine(
        winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
        winston.format.errors({ stack: true }),
        redactSecrets(),
        ...(colors ? [winston.format.colorize()] : []),
        prettyFormat,
      );
}

/** The format and the one transport the options ask for: a file (never colored) or the console. */
function outputOf(options: LoggerOptions): { format: winston.Logform.Format; transport: winston.transport } {
  if (options.file) {
    // Opened once here so that a path that cannot be written is refused by name (winston would drop every line silently).
    try {
      closeSync(openSync(options.file, 'a'));
    } catch (err) {
      throw new ConfigError('logFile', `cannot write ${options.file}: ${errorMessage(err)}`);
    }
    return {
      format: lineFormat(options.format ?? 'json', false),
      transport: new winston.transports.File({ filename: options.file }),
    };
  }
  return {
    format: lineFormat(options.format ?? (process.stdout.isTTY ? 'pretty' : 'json'), Boolean(process.stdout.isTTY)),
    transport: new ConsoleTransport({
      stderrLevels: options.stderr ? ['error', 'warn', 'info', 'debug'] : ['error'],
    }),
  };
}

/** One winston logger per process; roles take `logger.child({ role })`. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const { format, transport } = outputOf(options);
  const logger = winston.createLogger({
    level: options.level ?? 'info',
    silent: options.silent ?? false,
    defaultMeta: options.defaultMeta,
    format,
    transports: [transport],
  });
  // A failing output (disk full, file removed with its folder) must not end the process: say it where it can be seen.
  logger.on('error', (err: unknown) => process.stderr.write(`watched: logging failed: ${errorMessage(err)}\n`));
  return logger;
}

/**
 * Applies new logging options to a running logger (SIGHUP): level, format
 * and output. The output is always opened anew, even when its options did
 * not change: that is how a log file moved away by logrotate is reopened.
 * Child loggers (`logger.child`) write through their parent and follow it.
 */
export function reconfigureLogger(logger: Logger, options: LoggerOptions): void {
  const { format, transport } = outputOf(options);
  const previous = [...logger.transports];
  logger.add(transport);
  // Removed after the new one is in place: no line falls between the two. Closing ends the old file stream after its pending writes.
  for (const old of previous) {
    logger.remove(old);
    old.close?.();
  }
  logger.format = format;
  logger.level = options.level ?? logger.level;
}
