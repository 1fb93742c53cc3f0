/**
 * How one option key is spelled where it is given: camelCase in code and
 * config files (`mysqlUrl`), kebab-case on the command line and accepted in
 * config files (`--mysql-url`), upper snake case in the environment
 * (`WATCHED_MYSQL_URL`). The only place these conversions are written.
 */

export const ENV_PREFIX = 'WATCHED_';

/** `mysqlUrl` -> `mysql-url`. */
export function kebabCase(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** `mysql-url` (or `mysql_url`) -> `mysqlUrl`. */
export function camelCase(key: string): string {
  return key.replace(/[-_]([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** `mysqlUrl` -> `--mysql-url`. */
export function flagName(key: string): string {
  return `--${kebabCase(key)}`;
}

/** `mysqlUrl` -> `WATCHED_MYSQL_URL`. */
export function envName(key: string): string {
  return ENV_PREFIX + kebabCase(key).replace(/-/g, '_').toUpperCase();
}
