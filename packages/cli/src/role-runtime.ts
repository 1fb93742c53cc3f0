import {
  AdminServer,
  createMysqlPool,
  createWriterSelector,
  type MysqlWriterSelector,
  createRedis,
  FailureReporter,
  mysqlReadiness,
  redisMasterReadiness,
  redisReadiness,
  runServices,
  stateReadiness,
  WatchedMetrics,
  type AdminOptions,
  type AdminRoute,
  type BaseOptions,
  type Reloadable,
  type Service,
} from '@watched/core';
import { ConfigReloader } from './config-reloader.js';
import { refuseLastingConnectionFailures } from './dependency-checks.js';
import { reloadableLogger, type CommandRuntime } from './options.js';

/** A role as the process runs it: its services, and a readiness test for each. */
export interface RoleParts<O> {
  services: Service[];
  /** name -> is ready (e.g. the worker is RUNNING). */
  ready?: Record<string, () => boolean>;
  /** Longer than the roles' own drain deadlines. */
  shutdownTimeoutMs?: number;
  /** Parts that take changed options live on SIGHUP/SIGUSR1 (the logger is always one). */
  reloadable?: Array<Reloadable<O>>;
  /** The roles' write endpoints, served by the admin server behind its token. */
  routes?: AdminRoute[];
}

/**
 * Runs roles behind one admin server (/healthz, /readyz with MySQL and Redis
 * checks, /metrics): the admin server starts first and stops last, so probes
 * see the whole lifetime (a port it cannot bind fails the start before any
 * role opens anything). `build` receives the process's metrics registry.
 * SIGHUP and SIGUSR1 re-read the configuration (ConfigReloader): the log
 * level, format and file (reopened) and what the roles' `reload` accepts
 * change live; an invalid file changes nothing.
 */
export async function runRoles<O extends BaseOptions & AdminOptions>(
  runtime: CommandRuntime<O>,
  build: (metrics: WatchedMetrics, mysqlWriter: MysqlWriterSelector) => RoleParts<NoInfer<O>> | Promise<RoleParts<NoInfer<O>>>,
): Promise<void> {
  const { options, logger, connections, outages } = runtime;
  await refuseLastingConnectionFailures(connections);
  const metrics = new WatchedMetrics();
  // One writer choice for the process: its roles and its readiness check write to, and judge, the same host.
  const mysqlWriter = createWriterSelector(connections.mysql, logger);
  const pool = new FailureReporter(logger, outages, connections).watchPool(createMysqlPool(connections.mysql, { connectionLimit: 1, selector: mysqlWriter }));
  const redis = createRedis(connections.redis, { connectionName: 'watched-admin', outages });
  const parts = await build(metrics, mysqlWriter);
  const admin = new AdminServer(options, {
    logger,
    metrics,
    readiness: [
      mysqlReadiness(pool),
      redisReadiness(redis),
      redisMasterReadiness(redis),
      ...Object.entries(parts.ready ?? {}).map(([name, isReady]) => stateReadiness(name, isReady)),
    ],
    routes: parts.routes,
  });
  try {
    // Bound before any role starts: a taken port (another role on this host) ends the process with one line naming the option.
    await admin.start();
  } catch (err) {
    await pool.end().catch(() => undefined);
    mysqlWriter.close();
    redis.disconnect();
    throw err;
  }
  const reloader = new ConfigReloader<O>(options, runtime.resolve, [reloadableLogger(logger), ...(parts.reloadable ?? [])], logger);
  await runServices([admin, ...parts.services], {
    logger,
    shutdownTimeoutMs: parts.shutdownTimeoutMs,
    onReload: async (signal) => void (await reloader.reload(signal)),
    onClosed: async () => {
      // Bound above, before runServices: closed here too when a stop during start-up started none of the services.
      await admin.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
      mysqlWriter.close();
      redis.disconnect();
    },
  });
}
