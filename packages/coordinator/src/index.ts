export { Coordinator, leaseReleasedChannel, type CoordinatorConnections } from './coordinator.js';
export {
  coordinatorOptionsShape,
  CoordinatorOptionsSchema,
  compileCoordinatorOptions,
  type CoordinatorOptions,
} from './coordinator-options.js';
export { Scheduler, type GroupSchedule, type LeaseView, type SchedulerStats, type TickResult } from './scheduler.js';
export { planGroups, dueSlot, type PollGroup, type PlannedAgent } from './group-planner.js';
export { jumpHash } from './jump-hash.js';
