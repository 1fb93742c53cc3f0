export { AgentFleet, startFleet, type AgentModel, type FleetState } from './fleet.js';
export {
  compileFleetOptions, defaultClock, FleetOptionError, MAX_LOOPBACK_HOSTS,
  type AddressingMode, type AgentFleetOptions, type FleetTlsOptions, type CompiledFleetOptions,
} from './fleet-options.js';
export {
  appliesTo, compileFault, compileFaults, dataFaults, DEFAULT_HUGE_SIZE_BYTES, DEFAULT_NEW_PROPERTY_NAME,
  DEFAULT_NEW_PROPERTY_TYPE, DEFAULT_SLOW_DELAY_MS, FAULT_KINDS, FaultValidationError,
  type DataFaults, type EndpointKind, type Fault, type FaultInput, type FaultKind, type FaultTarget,
} from './faults.js';
export { countRows, HOSTILE, HostModel, type HostModelParams, type ResourceInstance, type RowCounts, type ServiceInstance } from './host-model.js';
export { hostnameOf, loopbackAddress, loopbackIndex } from './addressing.js';
export { buildSwagger, swaggerResources } from './swagger.js';
export { parseSince, SINCE_PATTERN, type AgentAddress } from './server.js';
export { DATA_TYPES, SERVICE_TEMPLATES, type DataType, type PropertyDef } from './catalog.js';
export type * from './types.js';
