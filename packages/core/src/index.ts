export { ConfigError, DependencyError, errorMessage, IllegalStateError, InvalidIdentifierError, MigrationError, StartupError } from './errors.js';
export { assertIdentifier, isValidIdentifier, quoteIdentifier } from './identifiers.js';
export { RedisKeys } from './keys.js';
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
export { createLogger, type Logger, type LoggerOptions, type LogLevel, reconfigureLogger } from './logger.js';
export { ConsoleOutput, consoleOutput, type ConsoleWriter } from './console-output.js';
export {
  type Connection,
  createMysqlConnection,
  createMysqlPool,
  createWriterSelector,
  exactDoubleTypeCast,
  inTransaction,
  isRetryableMysqlError,
  mysqlFailureKind,
  type MysqlFailureKind,
  mysqlDatabaseName,
  type MysqlPoolOptions,
  type MysqlTarget,
  type Pool,
  type PoolConnection,
  type ResultSetHeader,
  readWriterVerdict,
  retryOnDeadlock,
  type RetryOptions,
  type RowDataPacket,
  schemaLockName,
  withSchemaLock,
  withTransaction,
} from './mysql.js';
export { CONSUMER_RUN_RETRY_DELAY_MS, createRedis, type Redis, type RedisClientOptions, type RedisTarget } from './redis.js';
export { RedisMasterWatch, type RedisMasterView } from './redis-master-watch.js';
export { hostName, MysqlWriterSelector, type MysqlWriterStatus, type WriterFailover, type WriterVerdict } from './mysql-writer.js';
export { describeTlsError, readTlsFiles, TLS_VERSIONS, type TlsFiles, type TlsMaterial } from './tls.js';
export { REDACTED, redactSecrets, redactText, redactUrl, redactValue } from './log-redaction.js';
export { SecretRegistry, secrets } from './secret-registry.js';
export { describeError, errorRecord, isConnectionError, type ErrorRecord } from './error-record.js';
export { DependencyOutages, OutageTracker, type OutageTrackerOptions } from './outage-tracker.js';
export { FailureReporter, isMysqlError } from './failure-reporter.js';
export { monitorRedisClient } from './redis-monitor.js';
export { scrubProcessOutput, logProcessWarnings } from './process-output.js';
export {
  cleanUpOnStartupSignal,
  guardShutdownSignals,
  shutdownSignalsToCommand,
  deferReloadSignals,
  RELOAD_SIGNALS,
  type Reloadable,
  type RunOptions,
  runServices,
  type Service,
  type ServiceState,
  SHUTDOWN_SIGNALS,
} from './lifecycle.js';
export {
  boolean,
  connectionUrl,
  duration,
  filePath,
  integer,
  optionalBoolean,
  parseBoolean,
  parseDurationMs,
  readSecretFile,
  secretFileTarget,
  secretOption,
} from './config/option-types.js';
export { type BaseOptions, BaseOptionsSchema, baseOptionsShape, DEFAULT_MYSQL_URL, DEFAULT_REDIS_URL } from './config/base-options.js';
export {
  compileConnectionOptions,
  connectionOptionsShape,
  type ConnectionSourceOptions,
  type RoleConnections,
} from './config/connection-options.js';
export { loadOptions, loadTracedOptions, type OptionSources, parseOptions, type TracedOptions } from './config/load-options.js';
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
export { compileRedisConnection, describeRedisTarget, REDIS_SCHEMES, REDIS_TLS_PARAMS, type RedisConnectionOptions, type RedisMode } from './config/redis-connection-options.js';
export { checksumOf, defaultMigrationsDir, type MigrationFile, readMigrationFiles } from './schema/migration-files.js';
export { type MigrateResult, MIGRATION_LEDGER, type MigrationStatus, Migrator, type MigratorOptions } from './schema/migrator.js';
export {
  DATA_TIME_INDEX,
  dataTableDdl,
  METRIC_PREFIXES,
  type OwnerColumn,
  resourceLinkTable,
  ROLLUP_TIME_INDEX,
  rollupColumnDefinitions,
  rollupTableDdl,
  ROW_COUNT_COLUMN,
} from './schema/dynamic-table-shapes.js';
export {
  DEFAULT_PARTITION_SPAN_MS,
  DEFAULT_PARTITIONS_AHEAD,
  FUTURE_PARTITION,
  futurePartitionDefinition,
  initialPartitionClause,
  MIN_PARTITION_SPAN_MS,
  PARTITION_EXPRESSION,
  partitionDefinition,
  partitionName,
  partitionStart,
  readPartitionCatalog,
  readPartitionedTables,
  readTimePartitions,
  type TimePartition,
} from './schema/partitioning.js';
export { DataTablePartitioner, type ConvertedTable, type PartitionerOptions, type PendingTable } from './schema/data-table-partitioner.js';
export { detectDatabase, UPGRADE_LOG_TABLE, type DatabaseKind, type DatabaseState } from './schema/upstream-detector.js';
export { QUARANTINE_TABLE } from './schema/upgrade-log.js';
export { FRONT_ADMIN_TEAM, FRONT_ADMIN_USER, type FrontAdminSeedResult } from './front/front-admin-seed.js';
export { frontOptionsShape, frontPassword } from './front/front-options.js';
export { frontPasswordProblem, generateFrontPassword, hashFrontPassword, verifyFrontPassword } from './front/front-password.js';
export { FrontUserError, FrontUsers, type FrontUser, type NewFrontUser } from './front/front-users.js';
export {
  AgentRegistry,
  DEFAULT_AGENT_PORT,
  DEFAULT_POLL_INTERVAL_S,
  type NewAgent,
  type RegisteredAgent,
  validateAgent,
} from './agent-registry.js';
export { AGENT_CSV_COLUMNS, AgentCsvError, parseAgentCsv, type AgentCsv, type BadAgentRow } from './agent-list/agent-csv.js';
export { agentKey, AgentListError, parseAgentList, parseHostPort, type AgentListProblem, type ListedAgent } from './agent-list/agent-list.js';
export { AgentStateTable, type AgentState, type AgentBackoff, type AgentPollSuccess, type AgentPollFailure } from './agent-state/agent-state-table.js';
export { LeaderLease, type LeaderLeaseOptions } from './lease/leader-lease.js';
export { TermStore } from './lease/term-store.js';
export { Membership, readMembers, type MemberInfo, type MembershipOptions } from './lease/membership.js';
export { FENCED_HSET } from './lease/lease-scripts.js';
export { defaultNodeId } from './lease/node-id.js';
export {
  ADMIN_PATHS,
  ADMIN_ROUTE_MAX_BODY,
  type AdminOptions,
  type AdminResponse,
  type AdminRoute,
  type AdminOptionsShape,
  adminOptionsShapeFor,
  AdminServer,
  type AdminServerDependencies,
  DEFAULT_ADMIN_PORT,
  defaultAdminListen,
  mysqlReadiness,
  parseAdminListen,
  type PollOutcome,
  type ReadinessCheck,
  type ReadinessReport,
  redisMasterReadiness,
  redisReadiness,
  stateReadiness,
  WatchedMetrics,
} from './admin/index.js';
export { CloseStack } from './role/close-stack.js';
export { RoleState } from './role/role-state.js';
export { drainWithDeadline } from './role/drain.js';
export { PeriodicTask, type PeriodicTaskOptions } from './role/periodic-task.js';
export { LeaderLoop, type LeaderLoopOptions } from './role/leader-loop.js';
export { RoleContext, type RoleContextOptions, type MembershipSpec, type LeaderSpec, type LeaderWork, type Leadership } from './role/role-context.js';
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
