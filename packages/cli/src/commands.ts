import type { CommandModule } from 'yargs';
import { agentsCommand } from './commands/agents.js';
import { migrateCommand } from './commands/migrate.js';
import { silenceCommand } from './commands/silence.js';
import { simCommand } from './commands/sim.js';
import { statusCommand } from './commands/status.js';
import { upCommand } from './commands/up.js';
import { usersCommand } from './commands/users.js';
import { roleCommand } from './role-command.js';
import { ROLES } from './roles.js';

/** Every `watched` subcommand, in the order --help lists them: main registers these, the deployment checks read them. */
export const WATCHED_COMMANDS: CommandModule[] = [
  upCommand,
  migrateCommand,
  agentsCommand,
  roleCommand(ROLES.coordinator),
  roleCommand(ROLES.worker),
  roleCommand(ROLES.aggregator),
  simCommand as unknown as CommandModule, // typed by its own arguments
  statusCommand,
  roleCommand(ROLES.alerter),
  silenceCommand,
  usersCommand,
];
