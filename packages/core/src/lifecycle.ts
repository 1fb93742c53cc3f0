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

export interface RunOptions {
  logger: Logger;
  /** Hard deadline for closing every service after a signal. */
  shutdownTimeoutMs?: number;
  /** Called after all services are closed (e.g. to close shared pools). */
  onClosed?: () => Promise<void>;
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

  try {
    for (const service of services) {
      await service.start();
      started.push(service);
      logger.debug(`${service.name} started`);
    }
  } catch (err) {
    logger.error(`start-up failed: ${errorMessage(err)}`);
    await stop('start-up failure');
    throw err;
  }
  await stopRequested;
  await stopping;
  for (const signal of SHUTDOWN_SIGNALS) process.off(signal, onSignal);
}
