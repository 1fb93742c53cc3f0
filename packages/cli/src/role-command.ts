import type { CommandModule } from 'yargs';
import type { z } from 'zod';
import { adminOptionsShapeFor, baseOptionsShape, type AdminOptions, type AdminOptionsShape, type BaseOptions, type Logger, type Reloadable, type RoleConnections, type Service, type ServiceState, type WatchedMetrics } from '@watched/core';
import { commandRuntime, withOptions, type CommandRuntime } from './options.js';
import { runRoles, type RoleParts } from './role-runtime.js';

type Shape = Record<string, z.ZodType>;

/** The options a role's process resolves: connections, logging and the admin server, then the role's own. */
export type RoleProcessOptions<S extends Shape> = z.output<z.ZodObject<typeof baseOptionsShape & AdminOptionsShape & S>>;

/** A role as the CLI runs it: what `watched <role>` and `watched up` need to know about it. */
export interface RoleService extends Service {
  readonly lifecycle: ServiceState;
}

/** What a role shares with the other roles of its process. */
export interface RoleProcess {
  connections: RoleConnections;
  /** The role's logger (a child naming the role where several share a process). */
  logger: Logger;
  nodeId: string;
  metrics: WatchedMetrics;
}

export interface RoleDefinition<S extends Shape, R extends RoleService> {
  /** The command and role name: `coordinator`, `worker`, ... */
  command: string;
  describe: string;
  /**
   * The default port of its admin server (`--admin-listen 127.0.0.1:<port>`):
   * one per role, so that several roles run side by side on one host.
   */
  adminPort: number;
  /** The role's own options (flags, env, config keys). */
  shape: S;
  /** Builds the role from the resolved options (compiling what it needs) in the process it runs in. */
  create(options: RoleProcessOptions<S>, process: RoleProcess): R;
  /** Applies reloaded options; returns the option names applied live. */
  reload(role: R, options: RoleProcessOptions<S>): Promise<readonly string[]> | readonly string[];
  /** Longer than the role's own drain deadline (default: the process's 30 s). */
  shutdownTimeoutMs?(options: RoleProcessOptions<S>): number;
}

/** What a role contributes to a process: its service, its readiness, its reload. */
export function roleParts<S extends Shape, R extends RoleService>(
  definition: RoleDefinition<S, R>,
  role: R,
): { service: R; ready: Record<string, () => boolean>; reloadable: Reloadable<RoleProcessOptions<S>> } {
  return {
    service: role,
    // A standby is ready too: readiness says the process works, not that it leads.
    ready: { [definition.command]: () => role.lifecycle === 'RUNNING' },
    reloadable: { reload: (options) => definition.reload(role, options) },
  };
}

/** `watched <role>`: one replica of the role behind the process's admin server, with reload and graceful stop. */
export function roleCommand<S extends Shape, R extends RoleService>(definition: RoleDefinition<S, R>): CommandModule {
  return {
    command: definition.command,
    describe: definition.describe,
    builder: (yargs) => withOptions(yargs, baseOptionsShape, adminOptionsShapeFor(definition.adminPort), definition.shape),
    handler: async (argv) => {
      const shape = { ...baseOptionsShape, ...adminOptionsShapeFor(definition.adminPort), ...definition.shape };
      // The generic shape defeats zod's inference here; the runtime's options are the role process's, by construction.
      const runtime = commandRuntime(argv, shape, definition.command) as unknown as CommandRuntime<RoleProcessOptions<S> & BaseOptions & AdminOptions>;
      const { options } = runtime;
      await runRoles(runtime, (metrics): RoleParts<typeof options> => {
        const { connections, logger, nodeId } = runtime;
        const parts = roleParts(definition, definition.create(options, { connections, logger, nodeId, metrics }));
        return {
          services: [parts.service],
          ready: parts.ready,
          reloadable: [parts.reloadable],
          shutdownTimeoutMs: definition.shutdownTimeoutMs?.(options),
        };
      });
    },
  };
}
