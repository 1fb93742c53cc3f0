import type { Logger, Service } from '@watched/core';
import { LiveView } from './live-view.js';
import { StatusLine } from './status-line.js';
import { UpStatus, type UpStatusOptions } from './up-status.js';

export interface StatusDisplayOptions extends UpStatusOptions {
  /** Period of the plain status line. */
  intervalMs: number;
  logger: Logger;
  logFormat?: 'json' | 'pretty';
}

/** The live view redraws this often: a terminal's user watches it; the plain line keeps its own (longer) interval. */
const LIVE_VIEW_REFRESH_MS = 1000;

/**
 * How `watched up` shows its numbers: a live view at the bottom of the screen
 * when stdout is a terminal (and JSON logs were not asked for), plain status
 * lines every `intervalMs` otherwise (files, pipes, containers), as before.
 */
export function statusDisplay(options: StatusDisplayOptions): Service {
  const status = new UpStatus(options);
  const terminal = Boolean(process.stdout.isTTY) && options.logFormat !== 'json' && process.env.TERM !== 'dumb';
  return terminal
    ? new LiveView({ status, refreshMs: LIVE_VIEW_REFRESH_MS, logger: options.logger })
    : new StatusLine({ status, intervalMs: options.intervalMs, logger: options.logger });
}
