import { Aggregator, aggregatorOptionsShape, compileAggregatorOptions } from '@watched/aggregator';
import { Alerter, alerterOptionsShape, compileAlerterOptions } from '@watched/alerter';
import { compileCoordinatorOptions, Coordinator, coordinatorOptionsShape } from '@watched/coordinator';
import { compileWorkerOptions, PollWorker, workerOptionsShape } from '@watched/worker';
import { defineRole } from './role-command.js';

/** Room after the worker's drain deadline for handing jobs back and closing connections. */
const WORKER_CLOSE_MARGIN_MS = 10_000;

/**
 * Every role the CLI runs, as `watched <role>` (one replica) and together in
 * `watched up`: what each is called, its options and their compiler, its class.
 */
export const ROLES = {
  coordinator: defineRole({
    command: 'coordinator',
    adminPort: 9464,
    describe: 'Run a coordinator replica: leader election and scheduling of poll jobs',
    shape: coordinatorOptionsShape,
    compile: compileCoordinatorOptions,
    Role: Coordinator,
  }),
  worker: defineRole({
    command: 'worker',
    adminPort: 9465,
    describe: 'Run a worker: consume poll jobs, fetch agents, write to MySQL',
    shape: workerOptionsShape,
    compile: compileWorkerOptions,
    Role: PollWorker,
    shutdownTimeoutMs: (options) => options.shutdownTimeout + WORKER_CLOSE_MARGIN_MS,
  }),
  aggregator: defineRole({
    command: 'aggregator',
    adminPort: 9466,
    describe: 'Run an aggregator replica: minute/hour/day rollups and retention (one replica is active)',
    shape: aggregatorOptionsShape,
    compile: compileAggregatorOptions,
    Role: Aggregator,
  }),
  alerter: defineRole({
    command: 'alerter',
    adminPort: 9467,
    describe: 'Run an alerter: route events to receivers (email, webhook, plugins), with grouping, silences and retries',
    shape: alerterOptionsShape,
    compile: compileAlerterOptions,
    Role: Alerter,
  }),
};
