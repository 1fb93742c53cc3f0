import { aggregatorOptionsShape } from '@watched/aggregator';
import { alerterOptionsShape } from '@watched/alerter';
import { coordinatorOptionsShape } from '@watched/coordinator';
import { adminOptionsShape, baseOptionsShape } from '@watched/core';
import { workerOptionsShape } from '@watched/worker';
import { upOptionsShape } from './commands/up-options.js';

/** Every option of every command, so one config file can serve all roles. */
export const ALL_OPTION_KEYS: ReadonlySet<string> = new Set(
  [baseOptionsShape, adminOptionsShape, coordinatorOptionsShape, workerOptionsShape, aggregatorOptionsShape, alerterOptionsShape, upOptionsShape].flatMap(
    (shape) => Object.keys(shape),
  ),
);
