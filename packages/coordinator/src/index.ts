export { Coordinator } from './coordinator.js';
export {
  coordinatorOptionsShape,
  CoordinatorOptionsSchema,
  compileCoordinatorOptions,
  parseCoordinatorOptions,
  type LoadedCoordinatorOptions,
  type RawCoordinatorOptions,
  type CoordinatorOptions,
} from './coordinator-options.js';
export { Scheduler, type SchedulerStats, type TickResult } from './scheduler.js';
export { groupLagMs, type GroupSchedule, type LeaseView } from './schedule-hash.js';
export { planGroups, dueSlot, GROUP_COUNT_CAP, type PollGroup, type PlannedAgent, type PlanInput, type PreviousGroup } from './group-planner.js';
export { AgentCosts } from './agent-costs.js';
export { AgentCostsReader } from './agent-costs-reader.js';
export { rebalanceGroups, type RebalanceOptions, type RebalanceResult } from './group-balancer.js';
export { CostBalancer } from './cost-balancer.js';
export { jumpHash } from './jump-hash.js';
export { Discovery, type DiscoveryLease, type DiscoveryStats } from './discovery/discovery.js';
export { DiscoveryFencedError, DiscoveryReconciler, type DesiredAgent, type ReconcileInput, type ReconcileResult } from './discovery/discovery-reconciler.js';
export { compileDiscoveryOptions, discoveryOptionsShape, type DiscoveryOptions, type DnsName, type LoadedDiscoveryOptions } from './discovery/discovery-options.js';
export { AgentRegistrations, parseRegistration, RegistrationError, type AgentRegistration } from './discovery/agent-registrations.js';
export { agentsEndpoint } from './discovery/agents-endpoint.js';
export { RetiredAgents } from './discovery/retired-agents.js';
