import type { Logger } from './logger.js';
import { errorMessage } from './errors.js';

/** Something a process runs: started once, closed once (close is idempotent). */
export interface Service {
  readonly name: string;
  start(): Promise<void>;
  close(): Promise<void>;
}

export type ServiceState = 'INITIALIZED' | 'RUNNING' | 'STOPPING' | 'STOPPED' | 'FAILED';

/** Signals that end a process gracefully; configured in this one place. */
export const SHUTDOWN_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/** Signals that re-read the configuration and reopen the log file (SIGUSR1 too, as upstream planned). */
export const RELOAD_SIGNALS: NodeJS.Signals[] = ['SIGHUP', 'SIGUSR1'];

/**
 * A part of a role whose options can change while it runs. `reload` receives
 * the whole new, already validated, options and returns the names of the
 * options it applied; it throws (a ConfigError naming the field) to refuse
 * them, leaving its running configuration as it was.
 */
export interface Reloadable<O> {
  reload(options: O): Promise<readonly string[]> | readonly string[];
}

let startupReloadListener: ((signal: NodeJS.Signals) => void) | undefined;

/**
 * Ignores (and logs) reload signals from now until `runServices` handles
 * them: Node's default for SIGHUP ends the process, and a long-running
 * command may spend a while (migrations, a simulated fleet) before it runs
 * its services.
 */
export function deferReloadSignals(logger: Logger): void {
  if (startupReloadListener) return;
  startupReloadListener = (signal) => logger.warn(`${signal} ignored: still starting`);
  for (const signal of RELOAD_SIGNALS) process.on(signal, startupReloadListener);
}

interface StartupStop {
  listener: (signal: NodeJS.Signals) => void;
  cleanups: Array<() => Promise<void>>;
  stopping: boolean;
}

let startupStop: StartupStop | undefined;

/**
 * Until `runServices` handles them, SIGTERM/SIGINT run `cleanup` (with any
 * registered before, newest first) and end the process with code 0. What a
 * command starts before its services (private database servers) is thus
 * stopped too when the command is stopped during start-up; once the
 * services run, the command's own shutdown path closes it.
 */
export function cleanUpOnStartupSignal(logger: Logger, cleanup: () => Promise<void>): void {
  if (!startupStop) {
    const state: StartupStop = {
      cleanups: [],
      stopping: false,
      listener: (signal) => {
        if (state.stopping) {
          logger.warn(`second ${signal}, exiting now`);
          process.exit(130);
        }
        state.stopping = true;
        logger.info(`stopping (${signal} during start-up)`);
        void (async () => {
          for (const step of [...state.cleanups].reverse()) {
            await step().catch((err: unknown) => logger.error(`cleanup failed: ${errorMessage(err)}`));
          }
          process.exit(0);
        })();
      },
    };
    startupStop = state;
    for (const signal of SHUTDOWN_SIGNALS) process.on(signal, state.listener);
  }
  startupStop.cleanups.push(cleanup);
}

export interface RunOptions {
  logger: Logger;
  /** Hard deadline for closing every service after a signal. */
  shutdownTimeoutMs?: number;
  /** Called after all services are closed (e.g. to close shared pools). */
  onClosed?: () => Promise<void>;
  /**
   * Called on SIGHUP/SIGUSR1 once every service has started, one call at a
   * time (a signal arriving meanwhile runs one more afterwards). Errors are
   * logged; the process goes on. Without it the signals are ignored.
   */
  onReload?: (signal: NodeJS.Signals) => Promise<void>;
}

/**
 * Starts services in order, and on SIGTERM/SIGINT closes them in reverse
 * order. A second signal, or the deadline, exits at once. Resolves when every
 * service is closed, so the caller can exit with the right code.
 */
export async function runServices(services: Service[], options: RunOptions): Promise<void> {
  const { logger } = options;
  const started: Service[] = [];
  let stopping: Promise<void> | undefined;
  let requestStop: () => void = () => undefined;
  const stopRequested = new Promise<void>((resolve) => (requestStop = resolve));

  const stop = (reason: string): Promise<void> => {
    if (stopping) return stopping;
    requestStop();
    logger.info(`stopping (${reason})`);
    const deadline = setTimeout(() => {
      logger.error(`shutdown took longer than ${options.shutdownTimeoutMs ?? 30_000} ms, exiting`);
      process.exit(1);
    }, options.shutdownTimeoutMs ?? 30_000);
    deadline.unref();
    stopping = (async () => {
      for (const service of started.reverse()) {
        try {
          await service.close();
        } catch (err) {
          logger.error(`closing ${service.name} failed: ${errorMessage(err)}`);
        }
      }
      await options.onClosed?.().catch((err) => logger.error(`cleanup failed: ${errorMessage(err)}`));
      clearTimeout(deadline);
      logger.info('stopped');
    })();
    return stopping;
  };

  let signalCount = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signalCount += 1;
    if (signalCount > 1) {
      logger.warn(`second ${signal}, exiting now`);
      process.exit(130);
    }
    void stop(signal);
  };
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, onSignal);
  if (startupStop) {
    for (const signal of SHUTDOWN_SIGNALS) process.off(signal, startupStop.listener);
    startupStop = undefined;
  }

  // Installed from the start (Node's default for SIGHUP would end the process), acting once started.
  let startedAll = false;
  let reloading: Promise<void> | undefined;
  let reloadAgain: NodeJS.Signals | undefined;
  const reload = (signal: NodeJS.Signals): void => {
    if (!startedAll || stopping || !options.onReload) {
      logger.warn(`${signal} ignored: ${stopping ? 'stopping' : !options.onReload ? 'nothing to reload' : 'still starting'}`);
      return;
    }
    if (reloading) {
      reloadAgain = signal;
      return;
    }
    reloading = options
      .onReload(signal)
      .catch((err: unknown) => void logger.error(`reload (${signal}) failed: ${errorMessage(err)}`))
      .finally(() => {
        reloading = undefined;
        const next = reloadAgain;
        reloadAgain = undefined;
        if (next) reload(next);
      });
  };
  for (const signal of RELOAD_SIGNALS) process.on(signal, reload);
  if (startupReloadListener) {
    for (const signal of RELOAD_SIGNALS) process.off(signal, startupReloadListener);
    startupReloadListener = undefined;
  }

  try {
    try {
      for (const service of services) {
        await service.start();
        started.push(service);
        logger.debug(`${service.name} started`);
      }
      startedAll = true;
    } catch (err) {
      logger.error(`start-up failed: ${errorMessage(err)}`);
      await stop('start-up failure');
      throw err;
    }
    await stopRequested;
    await stopping;
    await reloading;
  } finally {
    for (const signal of SHUTDOWN_SIGNALS) process.off(signal, onSignal);
    for (const signal of RELOAD_SIGNALS) process.off(signal, reload);
  }
}
