import type { CommandModule } from 'yargs';
import type { z } from 'zod';
import {
  adminOptionsShapeFor,
  type AdminRoute,
  baseOptionsShape,
  RoleContext,
  type AdminOptions,
  type AdminOptionsShape,
  type BaseOptions,
  type Reloadable,
  type RoleContextOptions,
  type Service,
} from '@watched/core';
import { commandRuntime, withOptions, type CommandRuntime } from './options.js';
import { runRoles, type RoleParts } from './role-runtime.js';

type Shape = Record<string, z.ZodType>;

/** The options a role's process resolves: connections, logging and the admin server, then the role's own. */
export type RoleProcessOptions<S extends Shape> = z.output<z.ZodObject<typeof baseOptionsShape & AdminOptionsShape & S>>;

/** A role as the CLI runs it: what `watched <role>` and `watched up` need to know about it. */
export interface RoleService extends Service {
  readonly context: RoleContext;
  /** Write endpoints the role serves on its process's admin server (the coordinator's `/api/agents`). */
  readonly adminRoutes?: readonly AdminRoute[];
}

/** What a role shares with the other roles of its process: its context but for the role's name. */
export type RoleProcess = Omit<RoleContextOptions, 'role'>;

/** A role class: built on its context from compiled options, which a reload replaces. */
export type RoleClass<C, R extends RoleService> = new (context: RoleContext, options: C) => R & Reloadable<C>;

export interface RoleDefinition<S extends Shape, C, R extends RoleService> {
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
  /** The role's `compile<Role>Options`: loaded options to the compiled ones it runs on (start-up and every reload). */
  compile: (options: RoleProcessOptions<S>) => C;
  Role: RoleClass<C, R>;
  /** Longer than the role's own drain deadline (default: the process's 30 s). */
  shutdownTimeoutMs?(options: RoleProcessOptions<S>): number;
}

/** One role's definition, with its types inferred from the parts. */
export function defineRole<S extends Shape, C, R extends RoleService>(definition: RoleDefinition<S, C, R>): RoleDefinition<S, C, R> {
  return definition;
}

/**
 * What a role contributes to a process: its service (on a context of its own), its readiness, its reload.
 * `compiled`: the options already compiled from `options` (a command compiles them before it connects anywhere).
 */
export function roleParts<S extends Shape, C, R extends RoleService>(
  definition: RoleDefinition<S, C, R>,
  options: RoleProcessOptions<S>,
  process: RoleProcess,
  compiled: C = definition.compile(options),
): { service: R; ready: Record<string, () => boolean>; reloadable: Reloadable<RoleProcessOptions<S>>; routes: AdminRoute[] } {
  const role = new definition.Role(new RoleContext({ role: definition.command, ...process }), compiled);
  return {
    service: role,
    // A standby is ready too: readiness says the process works, not that it leads.
    ready: { [definition.command]: () => role.context.lifecycle === 'RUNNING' },
    reloadable: { reload: (options) => role.reload(definition.compile(options)) },
    routes: [...(role.adminRoutes ?? [])],
  };
}

/** `watched <role>`: one replica of the role behind the process's admin server, with reload and graceful stop. */
export function roleCommand<S extends Shape, C, R extends RoleService>(definition: RoleDefinition<S, C, R>): CommandModule {
  return {
    command: definition.command,
    describe: definition.describe,
    builder: (yargs) => withOptions(yargs, baseOptionsShape, adminOptionsShapeFor(definition.adminPort), definition.shape),
    handler: async (argv) => {
      const shape = { ...baseOptionsShape, ...adminOptionsShapeFor(definition.adminPort), ...definition.shape };
      // The generic shape defeats zod's inference here; the runtime's options are the role process's, by construction.
      const runtime = commandRuntime(argv, shape, definition.command) as unknown as CommandRuntime<RoleProcessOptions<S> & BaseOptions & AdminOptions>;
      const { options } = runtime;
      // Compiled before any server is asked anything, so a bad option is said first; the role is built on these.
      const compiled = definition.compile(options);
      await runRoles(runtime, (metrics, mysqlWriter): RoleParts<typeof options> => {
        const { connections, logger, nodeId, outages } = runtime;
        const parts = roleParts(definition, options, { connections, logger, nodeId, metrics, outages, mysqlWriter }, compiled);
        return {
          services: [parts.service],
          ready: parts.ready,
          reloadable: [parts.reloadable],
          routes: parts.routes,
          shutdownTimeoutMs: definition.shutdownTimeoutMs?.(options),
        };
      });
    },
  };
}
