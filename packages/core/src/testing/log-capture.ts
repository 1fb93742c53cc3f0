import { PassThrough } from 'node:stream';
import winston from 'winston';
import { createLogger } from '../logger.js';

/**
 * A process logger (as every role creates it: createLogger, with its format
 * and redaction) whose output is kept in memory instead of written out.
 */
export function captureLogger(format: 'json' | 'pretty' = 'json'): { logger: winston.Logger; text: () => string; lines: () => Array<Record<string, unknown>> } {
  const logger = createLogger({ format, level: 'debug' });
  const stream = new PassThrough();
  let out = '';
  stream.on('data', (chunk: Buffer) => (out += chunk.toString()));
  logger.clear();
  logger.add(new winston.transports.Stream({ stream }));
  return { logger, text: () => out, lines: () => out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}
