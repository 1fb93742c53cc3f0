export { AdminServer, type AdminServerDependencies, type ReadinessReport } from './admin-server.js';
export {
  adminOptionsShape,
  AdminOptionsSchema,
  parseAdminListen,
  ADMIN_PATHS,
  DEFAULT_ADMIN_LISTEN,
  type AdminOptions,
} from './admin-options.js';
export { WatchedMetrics, type PollOutcome } from './metrics.js';
export { mysqlReadiness, redisReadiness, stateReadiness, type ReadinessCheck } from './readiness.js';
