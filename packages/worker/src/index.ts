export { PollWorker, type WorkerStats } from './worker.js';
export {
  workerOptionsShape,
  WorkerOptionsSchema,
  compileWorkerOptions,
  parseWorkerOptions,
  type LoadedWorkerOptions,
  type RawWorkerOptions,
  type WorkerOptions,
} from './worker-options.js';
export { AgentClient, AgentCallError, agentBaseUrl, formatSince, type AgentRecord } from './agent-client.js';
export { AgentLanes, type Lane } from './agent-lanes.js';
export { parseCatalog, type AgentCatalog, type DataTypeSpec, type ResourceSpec } from './ingest/catalog.js';
export { parseSnapshot, type AgentSnapshot } from './ingest/snapshot.js';
export { eventTypeOfLevel } from './ingest/logs.js';
export { LoggingEventSink } from './events/logging-event-sink.js';
export { evaluate as evaluateThreshold, type ThresholdRule, type RuleState, type EventSpan } from './events/threshold-evaluator.js';
export { LogAlerts } from './store/log-alerts.js';
