import type { Argv, CommandModule } from 'yargs';
import { z } from 'zod';
import {
  baseOptionsShape,
  compileConnectionOptions,
  createLogger,
  createMysqlPool,
  defaultNodeId,
  DependencyOutages,
  logProcessWarnings,
  cleanUpOnStartupSignal,
  deferReloadSignals,
  envName,
  kebabCase,
  loadOptions,
  loadTracedOptions,
  reconfigureLogger,
  type BaseOptions,
  type Logger,
  type LoggerOptions,
  type OptionSources,
  type Pool,
  type Reloadable,
  type RoleConnections,
} from '@watched/core';
import { ALL_OPTION_KEYS } from './all-options.js';
import { requireServers } from './dependency-checks.js';

type Shape = Record<string, z.ZodType>;

/** Default shown in --help, read from the schema itself so it never drifts. */
function defaultOf(schema: z.ZodType): string | undefined {
  const result = z.object({ v: schema }).safeParse({});
  if (!result.success || result.data.v === undefined) return undefined;
  const raw = (schema as unknown as { def?: { defaultValue?: unknown; in?: { def?: { defaultValue?: unknown } } } }).def;
  const value = raw?.in?.def?.defaultValue ?? raw?.defaultValue ?? result.data.v;
  return String(typeof value === 'function' ? value() : value);
}

/**
 * Whether an option is a switch (the `boolean()` option type): it takes true
 * and yes and refuses other words. A bare `--sim-control` then means true;
 * `--sim-control=no` and the other words go to its schema like any value (a
 * yargs boolean would turn `=yes` and `=maybe` alike into false, silently).
 */
function isSwitch(schema: z.ZodType): boolean {
  const parsed = (v: unknown) => schema.safeParse(v);
  return parsed(true).data === true && parsed('yes').data === true && !parsed('maybe').success;
}

/**
 * Declares one flag per option of the given schema shapes (kebab-case, no
 * yargs default: an absent flag must not hide the config file or env).
 */
export function withOptions<T>(yargs: Argv<T>, ...shapes: Shape[]): Argv<T> {
  let y = yargs;
  for (const shape of shapes) {
    for (const [key, schema] of Object.entries(shape)) {
      const def = defaultOf(schema);
      y = y.option(kebabCase(key), {
        type: 'string',
        ...(isSwitch(schema) ? { coerce: (value: unknown) => (value === '' ? 'true' : value) } : {}),
        describe: `${schema.description ?? key} [env ${envName(key)}]${def !== undefined ? ` [default: ${def}]` : ''}`,
        group: shape === baseOptionsShape ? 'Connections and logging:' : 'Role options:',
      });
    }
  }
  return y;
}

export function withBaseOptions<T>(yargs: Argv<T>): Argv<T> {
  return withOptions(yargs, baseOptionsShape);
}

function optionSources(argv: Record<string, unknown>): OptionSources {
  return {
    configFile: typeof argv.config === 'string' ? argv.config : undefined,
    env: process.env,
    flags: argv,
    otherRolesKeys: ALL_OPTION_KEYS,
  };
}

/** Parses defaults < --config file < WATCHED_* env < flags against the shapes, once. */
export function resolveOptions<S extends Shape>(argv: Record<string, unknown>, shape: S): z.output<z.ZodObject<S>> {
  return loadOptions(z.object(shape), optionSources(argv)) as z.output<z.ZodObject<S>>;
}

type LoggingOptions = Pick<BaseOptions, 'logLevel' | 'logFormat' | 'logFile'>;

/** The logging options of the resolved options; `defaultMeta` goes on every line (role, node id). */
function loggerOptions(options: LoggingOptions, stderr: boolean, defaultMeta?: Record<string, unknown>): LoggerOptions {
  return { level: options.logLevel, format: options.logFormat, file: options.logFile, stderr, defaultMeta };
}

/** The process logger, from the resolved logging options. */
export function loggerFor(options: LoggingOptions, stderr = false, defaultMeta?: Record<string, unknown>): Logger {
  return createLogger(loggerOptions(options, stderr, defaultMeta));
}

/** The logging options as a reloadable part: applied live, the log file reopened on every reload (logrotate). */
export function reloadableLogger(logger: Logger, stderr = false): Reloadable<LoggingOptions> {
  return {
    reload: (options) => {
      reconfigureLogger(logger, loggerOptions(options, stderr));
      return ['logLevel', 'logFormat', 'logFile'];
    },
  };
}

/** What a long-running command starts from: its options, a way to read them again, its logger and identity. */
export interface CommandRuntime<O> {
  /** Resolved once at start-up. */
  options: O;
  /** Where each option of `options` was given (absent: its default), e.g. `mysqlUrl` -> `WATCHED_MYSQL_URL`. */
  origins: ReadonlyMap<string, string>;
  /** Reads the config file and the environment again (the command line stays as given) and validates; throws ConfigError. */
  resolve: () => O;
  /** The process logger; its lines carry `nodeId` (and `role` when given). */
  logger: Logger;
  /** The process's identity in leases and membership, also on every log line. */
  nodeId: string;
  /** MySQL, Redis and the prefix, compiled once at start-up (not reloaded). */
  connections: RoleConnections;
  /** The process's outage trackers: every role and connection of the process reports to these. */
  outages: DependencyOutages;
}

/** Resolves the options of a long-running command and creates its logger. */
export function commandRuntime<S extends Shape>(argv: Record<string, unknown>, shape: S, role?: string): CommandRuntime<z.output<z.ZodObject<S>>> {
  const resolve = () => resolveOptions(argv, shape);
  const { options, origins } = loadTracedOptions(z.object(shape), optionSources(argv));
  const connections = compileConnectionOptions(options as BaseOptions);
  const nodeId = defaultNodeId();
  const logger = loggerFor(options as LoggingOptions, false, role ? { role, nodeId } : { nodeId });
  logProcessWarnings(logger);
  deferReloadSignals(logger);
  cleanUpOnStartupSignal(logger);
  const outages = new DependencyOutages(logger);
  return { options: options as z.output<z.ZodObject<S>>, origins, resolve, logger, nodeId, connections, outages };
}

/** For one-shot admin commands: a one-connection pool on the resolved MySQL URL, closed afterwards. */
export async function withMysql<T>(argv: Record<string, unknown>, work: (pool: Pool) => Promise<T>): Promise<T> {
  const connections = compileConnectionOptions(resolveOptions(argv, baseOptionsShape));
  await requireServers(connections, { mysql: 'database' });
  const pool = createMysqlPool(connections.mysql, { connectionLimit: 1 });
  try {
    return await work(pool);
  } finally {
    await pool.end();
  }
}

/** `watched <group> <subcommand>` (agents, silence): the connection flags and one of the subcommands. */
export function commandGroup(command: string, describe: string, subcommands: Array<CommandModule<object, never>>): CommandModule {
  return {
    command: `${command} <command>`,
    describe,
    builder: (yargs) =>
      subcommands.reduce((y, sub) => y.command(sub as unknown as CommandModule), withBaseOptions(yargs)).demandCommand(1),
    handler: () => undefined,
  };
}
