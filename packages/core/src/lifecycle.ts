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

type SignalListener = (signal: NodeJS.Signals) => void;

/** The listener guarding SIGTERM/SIGINT until a command installs its own (see guardShutdownSignals). */
let interimStopListener: SignalListener | undefined;

/**
 * Makes `listener` what SIGTERM/SIGINT do until a command installs its own
 * handling (cleanUpOnStartupSignal, runServices): bin/watched.js guards the
 * loading of the modules with it, the CLI then a plain stop before its
 * command runs. The new listener is added before the previous one is
 * removed, and a command's own before the interim one goes: a signal is
 * dispatched to the listeners present when the event loop gets to it, not
 * when it arrived, and removing the last listener drops a signal already
 * delivered but not yet dispatched (a SIGTERM during a long synchronous
 * module evaluation was lost that way: the process started as if it had
 * never been sent, logging nothing about it).
 */
export function guardShutdownSignals(listener: SignalListener): void {
  const previous = interimStopListener;
  interimStopListener = listener;
  for (const signal of SHUTDOWN_SIGNALS) {
    if (!process.listeners(signal).includes(listener)) process.on(signal, listener);
  }
  if (previous && previous !== listener) for (const signal of SHUTDOWN_SIGNALS) process.off(signal, previous);
}

/** After a command installed its own shutdown listeners: the interim one goes (never before, see guardShutdownSignals). */
function releaseInterimStopListener(): void {
  const listener = interimStopListener;
  interimStopListener = undefined;
  if (listener) for (const signal of SHUTDOWN_SIGNALS) process.off(signal, listener);
}

/**
 * The interim listener once a command runs, until it installs its own (a
 * one-shot command never does): the signal's default, ending the process by
 * that signal, as if no listener had ever been installed.
 */
function endBySignal(signal: NodeJS.Signals): void {
  releaseInterimStopListener();
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

/**
 * A command is about to run: the guard of the loading (bin/watched.js:
 * nothing opened yet, exit 0) gives way to the signal's default until the
 * command installs its own handling. Nothing without such a guard (the CLI
 * run in-process by tests).
 */
export function shutdownSignalsToCommand(): void {
  if (interimStopListener) guardShutdownSignals(endBySignal);
}

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
  /** The first SIGTERM/SIGINT seen while starting. */
  signal?: NodeJS.Signals;
}

let startupStop: StartupStop | undefined;

/**
 * From now until `runServices` handles them, a SIGTERM/SIGINT is recorded and
 * the command stops as soon as it would run its services: start-up work in
 * progress (migrations, private database servers coming up) finishes rather
 * than being cut in the middle, no role starts, and the process ends with
 * code 0 instead of dying by the signal. A second signal stops at once: the
 * `cleanup`s registered (newest first: what start-up opened outside the
 * services, e.g. private database servers) run, then the process exits 130.
 */
export function cleanUpOnStartupSignal(logger: Logger, cleanup?: () => Promise<void>): void {
  if (!startupStop) {
    const state: StartupStop = {
      cleanups: [],
      listener: (signal) => {
        if (!state.signal) {
          state.signal = signal;
          logger.info(`${signal} received while starting: stopping once started (again to stop at once)`);
          return;
        }
        logger.warn(`second ${signal} while starting, exiting now`);
        void (async () => {
          for (const step of [...state.cleanups].reverse()) {
            await step().catch((err: unknown) => logger.error(`cleanup failed: ${errorMessage(err)}`));
          }
          process.exit(130);
        })();
      },
    };
    startupStop = state;
    for (const signal of SHUTDOWN_SIGNALS) process.on(signal, state.listener);
    releaseInterimStopListener();
  }
  if (cleanup) startupStop.cleanups.push(cleanup);
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
  let starting: Promise<void> = Promise.resolve();

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
      // A service still starting is closed too, once its start settles.
      await starting.catch(() => undefined);
      for (const service of [...started].reverse()) {
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
  releaseInterimStopListener();
  // A signal recorded while the command was starting: stop at once, starting nothing.
  const early = startupStop?.signal;
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
      // Stopped before it could start (the signal came during start-up): start nothing.
      if (early) onSignal(early);
      else {
        starting = (async () => {
          for (const service of services) {
            if (stopping) break; // stopped while starting: start nothing more
            await service.start();
            started.push(service);
            logger.debug(`${service.name} started`);
          }
        })();
        await starting;
        startedAll = !stopping;
      }
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
