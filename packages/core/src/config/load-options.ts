import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { camelCase, envName, flagName } from './option-names.js';
import { readSecretFile, secretFileTarget } from './option-types.js';
import { SECRET_KEY, secrets } from '../secret-registry.js';

/** Where each layer of options comes from; later layers win. */
export interface OptionSources {
  /** Path of a YAML or JSON config file (keys in camelCase or kebab-case). */
  configFile?: string;
  /** Environment, read as `WATCHED_<SNAKE_CASE_KEY>`. */
  env?: NodeJS.ProcessEnv;
  /** Command-line flags already parsed (camelCase keys; undefined means not given). */
  flags?: Record<string, unknown>;
  /**
   * Options of other roles: one config file can serve every role, so these
   * keys are skipped in the file instead of refused as typos.
   */
  otherRolesKeys?: Iterable<string>;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('config', `cannot read ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text); // YAML is a superset of JSON
  } catch (err) {
    throw new ConfigError('config', `${path} is not valid YAML/JSON: ${(err as Error).message}`);
  }
  if (parsed == null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError('config', `${path} must hold a mapping of option names to values`);
  }
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [camelCase(k), v]));
}

/** Options as loaded, with where each given value came from. */
export interface TracedOptions<O> {
  options: O;
  /**
   * Option key -> where its value was given (the config file's path, the
   * environment variable, the flag); absent: the default. A command tells by
   * it whether the user chose a value, e.g. a MySQL URL of their own.
   */
  origins: ReadonlyMap<string, string>;
}

/**
 * Merges defaults < config file < environment < flags and validates the result
 * once against `schema`. Errors name the field and where its value came from.
 */
export function loadOptions<S extends z.ZodObject>(schema: S, sources: OptionSources = {}): z.output<S> {
  return loadTracedOptions(schema, sources).options;
}

/** loadOptions, also saying where each value came from. */
export function loadTracedOptions<S extends z.ZodObject>(schema: S, sources: OptionSources = {}): TracedOptions<z.output<S>> {
  const keys = Object.keys(schema.shape);
  const origin = new Map<string, string>();
  const merged: Record<string, unknown> = {};

  if (sources.configFile) {
    const fromFile = readConfigFile(sources.configFile);
    const others = new Set(sources.otherRolesKeys ?? []);
    for (const [key, value] of Object.entries(fromFile)) {
      if (!keys.includes(key) && others.has(key)) continue;
      if (!keys.includes(key)) throw new ConfigError(key, `unknown option in ${sources.configFile}`);
      merged[key] = value;
      origin.set(key, `${sources.configFile}:${key}`);
    }
  }
  const env = sources.env ?? {};
  for (const key of keys) {
    const value = env[envName(key)];
    if (value !== undefined && value !== '') {
      merged[key] = value;
      origin.set(key, envName(key));
    }
  }
  for (const [key, value] of Object.entries(sources.flags ?? {})) {
    if (value !== undefined && keys.includes(key)) {
      merged[key] = value;
      origin.set(key, flagName(key));
    }
  }

  readSecretFiles(schema, merged, origin);
  return { options: parseOptions(schema, merged, origin), origins: origin };
}

/**
 * Validates `values` against `schema` once (defaults filled, strings
 * coerced); the first problem is a ConfigError naming the field and, when
 * `origin` knows it, where its value came from.
 */
export function parseOptions<S extends z.ZodObject>(schema: S, values: unknown, origin: ReadonlyMap<string, string> = new Map()): z.output<S> {
  // Every secret of the options (passwords, tokens, keys, URL credentials, at any depth) is known to the output scrubbing from now on, errors about them included.
  secrets.addFrom(values);
  const result = schema.safeParse(values);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = String(issue.path[0] ?? '');
    const field = issue.path.map(String).join('.') || 'options';
    throw new ConfigError(field, `${issue.message}${givenBy(key, valueAt(values, issue.path), origin.get(key), issue.message)}`);
  }
  secrets.addFrom(result.data);
  return result.data;
}

function valueAt(values: unknown, path: readonly PropertyKey[]): unknown {
  let value = values;
  for (const step of path) value = value != null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[step] : undefined;
  return value;
}

/**
 * ` (given "-5s" by --agent-timeout)`: the value the user gave (never a
 * secret's: scrubbed anyway, hidden here) and where, so a wrong option is
 * found in one look whether it came from a flag, the environment or a file.
 */
function givenBy(key: string, value: unknown, from: string | undefined, message: string): string {
  if (!from) return value === undefined ? ' (the default)' : '';
  const secret = SECRET_KEY.test(key) && !/file$/i.test(key);
  const shown = JSON.stringify(value);
  if (secret || value === undefined || (shown !== undefined && message.includes(shown))) return ` (from ${from})`;
  return ` (given ${shown && shown.length > 120 ? `${shown.slice(0, 120)}...` : shown} by ${from})`;
}

/**
 * Fills each secret whose `<secret>File` option is given from that file (the
 * one place `*-file` options are handled; see secretOption). The secret's own
 * value then never passes through the environment or the command line.
 */
function readSecretFiles(schema: z.ZodObject, merged: Record<string, unknown>, origin: Map<string, string>): void {
  for (const [fileKey, fileSchema] of Object.entries(schema.shape)) {
    const target = secretFileTarget(fileSchema as z.ZodType);
    const path = merged[fileKey];
    if (!target || path === undefined) continue;
    if (typeof path !== 'string' || path === '') throw new ConfigError(fileKey, 'expected a file path');
    if (merged[target] !== undefined) {
      throw new ConfigError(fileKey, `give ${target} or ${fileKey}, not both (${target} from ${origin.get(target) ?? 'the config'})`);
    }
    let text: string;
    try {
      text = readSecretFile(path);
    } catch (err) {
      throw new ConfigError(fileKey, (err as Error).message);
    }
    merged[target] = text;
    origin.set(target, `${fileKey} ${path}`);
  }
}
