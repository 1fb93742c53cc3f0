import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { z } from 'zod';
import { baseOptionsShape, ConfigError } from '@watched/core';

/** `watched up`'s private MariaDB and Redis: when to start them, where they keep their data. */
export const embeddedOptionsShape = {
  embedded: z
    .enum(['never', 'auto', 'always'])
    .default('auto')
    .describe('start private MariaDB/Redis from the installed programs: auto (when the default server does not answer and no URL of your own is set), always, never'),
  dataDir: z.string().min(1).optional().describe('data of the private servers, kept between runs (default $XDG_DATA_HOME/watched or ~/.local/share/watched)'),
  embeddedBinPath: z
    .string()
    .min(1)
    .optional()
    .describe(`folders (${delimiter}-separated) searched for mariadbd, mariadb-install-db, redis-server (default: PATH, then /usr/local/sbin, /usr/sbin, /sbin)`),
};

export type EmbeddedMode = 'never' | 'auto' | 'always';

/** The two servers a private one can stand in for. */
export type EmbeddedKind = 'mysql' | 'redis';

export interface EmbeddedOptions {
  mode: EmbeddedMode;
  /** Absolute. */
  dataDir: string;
  /** Folders searched for the servers' programs, in order. */
  binPath: readonly string[];
  /**
   * Per server, where the user chose a connection of their own (`--mysql-url`,
   * `WATCHED_REDIS_PASSWORD`, the config file...); absent: the defaults.
   * A server the user chose is never replaced by a private one.
   */
  chosen: Partial<Record<EmbeddedKind, string>>;
}

export type LoadedEmbeddedOptions = z.output<z.ZodObject<typeof embeddedOptionsShape>>;

/** `mariadbd` sits in sbin, which an ordinary user's PATH often lacks. */
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** The options (URL, password, TLS) that say which server of each kind to use. */
const CONNECTION_KEYS: Record<EmbeddedKind, string[]> = {
  mysql: Object.keys(baseOptionsShape).filter((key) => key.startsWith('mysql')),
  redis: Object.keys(baseOptionsShape).filter((key) => key.startsWith('redis')),
};

function defaultDataDir(env: NodeJS.ProcessEnv): string {
  const dataHome = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share');
  return join(dataHome, 'watched');
}

/**
 * Compiles the embedded options. `origins` is the loader's record of where
 * each option was given: it tells a connection of the user's own from the
 * defaults. `always` with both connections chosen by the user is refused.
 */
export function compileEmbeddedOptions(
  loaded: LoadedEmbeddedOptions,
  origins: ReadonlyMap<string, string>,
  env: NodeJS.ProcessEnv = process.env,
): EmbeddedOptions {
  const chosen: Partial<Record<EmbeddedKind, string>> = {};
  for (const kind of ['mysql', 'redis'] as const) {
    const key = CONNECTION_KEYS[kind].find((k) => origins.has(k));
    if (key) chosen[kind] = origins.get(key)!;
  }
  if (loaded.embedded === 'always' && chosen.mysql && chosen.redis) {
    throw new ConfigError('embedded', `always starts private servers, but MySQL (${chosen.mysql}) and Redis (${chosen.redis}) are set to your own`);
  }
  const binPath = loaded.embeddedBinPath
    ? loaded.embeddedBinPath.split(delimiter).filter(Boolean)
    : [...(env.PATH ?? '').split(delimiter).filter(Boolean), ...SBIN];
  return {
    mode: loaded.embedded,
    dataDir: resolve(loaded.dataDir ?? defaultDataDir(env)),
    binPath,
    chosen,
  };
}
