import { compileCoordinatorOptions, Coordinator, coordinatorOptionsShape } from '@watched/coordinator';
import { roleCommand, type RoleDefinition } from '../role-command.js';

/** `watched coordinator`: one coordinator replica (leader or standby). */
export const coordinatorRole: RoleDefinition<typeof coordinatorOptionsShape, Coordinator> = {
  command: 'coordinator',
  describe: 'Run a coordinator replica: leader election and scheduling of poll jobs',
  adminPort: 9464,
  shape: coordinatorOptionsShape,
  create: (options, { connections, logger, nodeId, metrics }) =>
    Object.assign(new Coordinator(connections, compileCoordinatorOptions(options), logger, nodeId), { metrics }),
  reload: (coordinator, options) => coordinator.reload(compileCoordinatorOptions(options)),
};

export const coordinatorCommand = roleCommand(coordinatorRole);
