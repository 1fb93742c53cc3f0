import {
  AdminServer,
  createMysqlPool,
  createRedis,
  mysqlReadiness,
  redisReadiness,
  runServices,
  stateReadiness,
  WatchedMetrics,
  type AdminOptions,
  type BaseOptions,
  type Logger,
  type Service,
} from '@watched/core';

/** A role as the process runs it: its services, and a readiness test for each. */
export interface RoleParts {
  services: Service[];
  /** name -> is ready (e.g. the worker is RUNNING). */
  ready?: Record<string, () => boolean>;
  /** Longer than the roles' own drain deadlines. */
  shutdownTimeoutMs?: number;
}

/**
 * Runs roles behind one admin server (/healthz, /readyz with MySQL and Redis
 * checks, /metrics): the admin server starts first and stops last, so probes
 * see the whole lifetime. `build` receives the process's metrics registry.
 */
export async function runRoles(
  options: BaseOptions & AdminOptions,
  logger: Logger,
  build: (metrics: WatchedMetrics) => RoleParts | Promise<RoleParts>,
): Promise<void> {
  const metrics = new WatchedMetrics();
  const pool = createMysqlPool(options.mysqlUrl, { connectionLimit: 1 });
  const redis = createRedis(options.redisUrl, { connectionName: 'watched-admin' });
  const parts = await build(metrics);
  const admin = new AdminServer(options, {
    logger,
    metrics,
    readiness: [
      mysqlReadiness(pool),
      redisReadiness(redis),
      ...Object.entries(parts.ready ?? {}).map(([name, isReady]) => stateReadiness(name, isReady)),
    ],
  });
  await runServices([admin, ...parts.services], {
    logger,
    shutdownTimeoutMs: parts.shutdownTimeoutMs,
    onClosed: async () => {
      await pool.end().catch(() => undefined);
      redis.disconnect();
    },
  });
}
