export * from './errors.js';
export * from './identifiers.js';
export * from './keys.js';
export {
  ALERTS_QUEUE,
  ALERT_EVENT_JOB,
  ALERT_DELIVER_JOB,
  alertJobId,
  alertLogLevelOption,
  logAlertEvent,
  monitoringEventSchema,
  type DeliverJobData,
  type EventSink,
  type MonitoringEvent,
} from './contracts/alerts.js';
export { EventType } from './contracts/event-types.js';
export { retriedJobOptions, type RetriedJobOptions } from './contracts/job-options.js';
export { QueueEventSink, type QueueEventSinkOptions } from './alerts/queue-event-sink.js';
export * from './logger.js';
export { ConsoleOutput, consoleOutput, type ConsoleWriter } from './console-output.js';
export * from './mysql.js';
export * from './redis.js';
export * from './tls.js';
export * from './log-redaction.js';
export * from './lifecycle.js';
export * from './config/option-types.js';
export * from './config/base-options.js';
export * from './config/connection-options.js';
export * from './config/load-options.js';
export { ENV_PREFIX, camelCase, envName, flagName, kebabCase } from './config/option-names.js';
export { stripUndefined } from './objects.js';
export { splitConnectionUrl, type ConnectionUrl, type HostPort } from './config/connection-url.js';
export type { ClientTls, TlsOverrides } from './config/client-tls.js';
export {
  compileMysqlConnection,
  describeMysqlTarget,
  MYSQL_TLS_PARAMS,
  withDatabase,
  type ConnectionOverrides,
  type MysqlConnectionOptions,
} from './config/mysql-connection-options.js';
export { compileRedisConnection, REDIS_TLS_PARAMS, type RedisConnectionOptions } from './config/redis-connection-options.js';
export * from './schema/migration-files.js';
export * from './schema/migrator.js';
export * from './schema/dynamic-table-shapes.js';
export { detectDatabase, UPGRADE_LOG_TABLE, type DatabaseKind, type DatabaseState } from './schema/upstream-detector.js';
export { QUARANTINE_TABLE } from './schema/upgrade-log.js';
export * from './agent-registry.js';
export { AgentStateTable, type AgentState, type AgentPollSuccess, type AgentPollFailure } from './agent-state/agent-state-table.js';
export * from './lease/leader-lease.js';
export { TermStore } from './lease/term-store.js';
export { Membership, readMembers, type MemberInfo, type MembershipOptions } from './lease/membership.js';
export { FENCED_HSET } from './lease/lease-scripts.js';
export * from './lease/node-id.js';
export * from './admin/index.js';
export { CloseStack } from './role/close-stack.js';
export { RoleState } from './role/role-state.js';
export { drainWithDeadline } from './role/drain.js';
export { PeriodicTask, type PeriodicTaskOptions } from './role/periodic-task.js';
export { LeaderLoop, type LeaderLoopOptions } from './role/leader-loop.js';
export { RoleContext, type MembershipSpec, type LeaderSpec } from './role/role-context.js';
export { roleOptionsShape } from './role/role-options.js';
export { POLL_QUEUE, pollJobId, type PollJobData, type PollJobResult } from './contracts/poll-queue.js';
export {
  DAY_MS,
  dataTypeOf,
  HOUR_MS,
  levelTableName,
  MINUTE_MS,
  ROLLUP_LEVELS,
  rollupLevel,
  type DataLevelName,
  type RollupLevel,
  type RollupLevelName,
} from './contracts/rollups.js';
