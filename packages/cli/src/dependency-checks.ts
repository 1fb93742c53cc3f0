import {
  ConfigError,
  DependencyError,
  describeRedisTarget,
  StartupError,
  type MysqlConnectionOptions,
  type RoleConnections,
} from '@watched/core';
import { probeMysql, probeRedis, type ProbeResult } from './embedded/server-probe.js';

/** How long a command waits for a server before saying it does not answer. */
const PROBE_TIMEOUT_MS = 5_000;

/** `host:port` of the MySQL servers: where, never who or with what password. */
function mysqlServers(target: MysqlConnectionOptions): string {
  return target.hosts.map((h) => `${h.host}:${h.port}`).join(',');
}

function errorCode(result: ProbeResult): string | undefined {
  if (result.answers) return undefined;
  const code = (result.error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

const REDIS_REFUSED_LOGIN = /^(WRONGPASS|NOAUTH|NOPERM)\b/;

/**
 * A failure no waiting cures (the database does not exist, the password is
 * wrong) as a ConfigError naming the option to fix: exit code 2, one line,
 * instead of a role retrying forever. Undefined for any other failure.
 */
function lastingMysqlFailure(target: MysqlConnectionOptions, result: ProbeResult): ConfigError | undefined {
  if (result.answers) return undefined;
  const code = errorCode(result);
  if (code === 'ER_BAD_DB_ERROR') {
    return new ConfigError('mysqlUrl', `database ${JSON.stringify(target.database)} does not exist on ${mysqlServers(target)}: create it with \`watched migrate\``);
  }
  if (code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR') {
    return new ConfigError('mysqlUrl or mysqlPassword', `MySQL at ${mysqlServers(target)} refused user ${JSON.stringify(target.user)}: ${result.reason}`);
  }
  return undefined;
}

function lastingRedisFailure(connections: RoleConnections, result: ProbeResult): ConfigError | undefined {
  if (result.answers || !REDIS_REFUSED_LOGIN.test(result.reason)) return undefined;
  return new ConfigError('redisUrl or redisPassword', `Redis at ${describeRedisTarget(connections.redis)} refused the login: ${result.reason}`);
}

/**
 * Before a role starts: what would make it fail forever is refused now, by
 * the option to fix. A server that does not answer is not: the role starts
 * and waits for it (its outage tracker says so), as it would during any outage.
 */
export async function refuseLastingConnectionFailures(connections: RoleConnections): Promise<void> {
  const [mysql, redis] = await Promise.all([
    probeMysql(connections.mysql, PROBE_TIMEOUT_MS, { database: true }),
    probeRedis(connections.redis, PROBE_TIMEOUT_MS),
  ]);
  const refusal = lastingMysqlFailure(connections.mysql, mysql) ?? lastingRedisFailure(connections, redis);
  if (refusal) throw refusal;
}

/**
 * For one-shot commands: each server the command needs answers (`mysql:
 * 'server'`: logging in is enough, e.g. for migrate, which creates the database), or one line
 * saying which does not and where (both when both are down), exit code 1;
 * a missing database or a refused login names its option (exit code 2).
 */
export async function requireServers(connections: RoleConnections, needs: { mysql?: 'server' | 'database'; redis?: boolean }): Promise<void> {
  const [mysql, redis] = await Promise.all([
    needs.mysql ? probeMysql(connections.mysql, PROBE_TIMEOUT_MS, { database: needs.mysql === 'database' }) : undefined,
    needs.redis ? probeRedis(connections.redis, PROBE_TIMEOUT_MS) : undefined,
  ]);
  const refusal = (mysql && lastingMysqlFailure(connections.mysql, mysql)) ?? (redis && lastingRedisFailure(connections, redis));
  if (refusal) throw refusal;
  const down: DependencyError[] = [];
  if (mysql && !mysql.answers) down.push(new DependencyError('MySQL', mysqlServers(connections.mysql), mysql.reason));
  if (redis && !redis.answers) down.push(new DependencyError('Redis', describeRedisTarget(connections.redis), redis.reason));
  if (down.length === 1) throw down[0];
  if (down.length > 1) throw new StartupError(down.map((e) => e.message).join('; '));
}
