import { aggregatorOptionsShape } from '@watched/aggregator';
import { alerterOptionsShape } from '@watched/alerter';
import { coordinatorOptionsShape } from '@watched/coordinator';
import { baseOptionsShape, frontOptionsShape } from '@watched/core';
import { workerOptionsShape } from '@watched/worker';
import { upAdminOptionsShape, upOptionsShape } from './commands/up-options.js';

/** The options of every role together: what `watched up` takes, and what one config file may hold. */
export const allOptionsShape = {
  ...baseOptionsShape,
  ...upAdminOptionsShape,
  ...coordinatorOptionsShape,
  ...workerOptionsShape,
  ...aggregatorOptionsShape,
  ...alerterOptionsShape,
  ...upOptionsShape,
  ...frontOptionsShape,
};

/** Every option of every command, so one config file can serve all roles. */
export const ALL_OPTION_KEYS: ReadonlySet<string> = new Set(Object.keys(allOptionsShape));
