export { AdminServer, type AdminServerDependencies, type ReadinessReport } from './admin-server.js';
export {
  adminOptionsShapeFor,
  defaultAdminListen,
  parseAdminListen,
  ADMIN_PATHS,
  DEFAULT_ADMIN_PORT,
  type AdminOptions,
  type AdminOptionsShape,
} from './admin-options.js';
export { WatchedMetrics, type PollOutcome } from './metrics.js';
export { mysqlReadiness, redisMasterReadiness, redisReadiness, stateReadiness, type ReadinessCheck } from './readiness.js';
export { ADMIN_ROUTE_MAX_BODY, type AdminResponse, type AdminRoute } from './admin-route.js';
