import { join } from 'node:path';
import { cleanUpOnStartupSignal, StartupError, type HostPort, type Logger, type RoleConnections } from '@watched/core';
import type { CommandRuntime } from '../options.js';
import { compileEmbeddedOptions, type EmbeddedKind, type EmbeddedOptions, type LoadedEmbeddedOptions } from './embedded-options.js';
import { EmbeddedMariadb } from './embedded-mariadb.js';
import { EmbeddedRedis } from './embedded-redis.js';
import { ClosedDuringStartError, type EmbeddedServer } from './embedded-server.js';
import { findProgram } from './programs.js';
import { probeMysql, probeRedis, type ProbeResult } from './server-probe.js';

/** How long a configured server may take to answer the first connection. */
const PROBE_TIMEOUT_MS = 5000;

const KINDS: Record<EmbeddedKind, { label: string; flag: string; packageName: string; programs: string[][] }> = {
  mysql: { label: 'MySQL', flag: '--mysql-url', packageName: 'mariadb-server', programs: [['mariadbd', 'mysqld'], ['mariadb-install-db', 'mysql_install_db']] },
  redis: { label: 'Redis', flag: '--redis-url', packageName: 'redis-server', programs: [['redis-server']] },
};

function where(hosts: readonly HostPort[]): string {
  return hosts.map((h) => `${h.host}:${h.port}`).join(',');
}

/**
 * What `watched up` does about its MySQL and Redis before anything else:
 * checks, with a real connection, that each answers; where one does not and
 * the user did not choose it (`--embedded=auto`), or always
 * (`--embedded=always`), starts a private one from the installed programs
 * (EmbeddedMariadb, EmbeddedRedis) with its data under `--data-dir`. A
 * server that cannot be had is one StartupError saying what to do.
 * `close()` stops what was started (idempotent); a shutdown signal during
 * start-up does too.
 */
export class EmbeddedServices {
  private readonly servers: Array<EmbeddedServer<unknown>> = [];
  private closing?: Promise<void>;

  constructor(
    private readonly options: EmbeddedOptions,
    private readonly logger: Logger,
  ) {}

  /** The connections the process is to use: `configured`, with private servers in place of those started. */
  async start(configured: RoleConnections): Promise<RoleConnections> {
    const decisions = await Promise.allSettled([
      this.needsPrivate('mysql', where(configured.mysql.hosts), () => probeMysql(configured.mysql, PROBE_TIMEOUT_MS)),
      this.needsPrivate('redis', where(configured.redis.hosts), () => probeRedis(configured.redis, PROBE_TIMEOUT_MS)),
    ]);
    const refusals = decisions.flatMap((d) => (d.status === 'rejected' ? [d.reason as Error] : []));
    if (refusals.length > 0) throw refusals.length === 1 ? refusals[0] : new StartupError(refusals.map((e) => e.message).join('; '));
    const [mysql, redis] = decisions.map((d) => (d.status === 'fulfilled' ? d.value : undefined));
    const reasons: Partial<Record<EmbeddedKind, string>> = { mysql, redis };
    const kinds = (['mysql', 'redis'] as const).filter((kind) => reasons[kind] !== undefined);
    if (kinds.length === 0) return configured;
    const programs = this.programs(kinds, reasons);

    cleanUpOnStartupSignal(this.logger, () => this.close());
    const mariadb =
      mysql !== undefined
        ? new EmbeddedMariadb({
            dir: join(this.options.dataDir, 'mariadb'),
            programs: { server: programs.get('mariadbd')!, installDb: programs.get('mariadb-install-db')! },
            database: configured.mysql.database ?? 'watched',
            logger: this.logger,
          })
        : undefined;
    const redisServer =
      redis !== undefined
        ? new EmbeddedRedis({ dir: join(this.options.dataDir, 'redis'), program: programs.get('redis-server')!, db: configured.redis.db, logger: this.logger })
        : undefined;
    const started = [mariadb, redisServer].filter((s): s is EmbeddedMariadb | EmbeddedRedis => s !== undefined);
    try {
      for (const server of started) {
        this.servers.push(server);
        await server.start();
      }
    } catch (err) {
      if (err instanceof ClosedDuringStartError || this.closing) {
        // Stopped by a signal: its clean-up stops the servers and ends the process.
        return new Promise<never>(() => undefined);
      }
      await this.close();
      throw err;
    }
    const why = kinds.map((kind) => reasons[kind]).join('; ');
    this.logger.info(
      `started a private ${started.map((s) => `${s.label} on ${s.address}`).join(' and ')} (data in ${this.options.dataDir}): ${why}`,
    );
    return {
      ...configured,
      ...(mariadb ? { mysql: mariadb.connection } : {}),
      ...(redisServer ? { redis: redisServer.connection } : {}),
    };
  }

  /** Stops the private servers, in reverse order of starting; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const server of [...this.servers].reverse()) await server.close();
      if (this.servers.length > 0) this.logger.info(`stopped the private ${this.servers.map((s) => s.label).join(' and ')}`);
    })();
    return this.closing;
  }

  /**
   * Why a private server of `kind` is to be started (undefined: use the
   * configured one, which answers). Throws when the configured one does not
   * answer and no private one may stand in for it.
   */
  private async needsPrivate(kind: EmbeddedKind, address: string, probe: () => Promise<ProbeResult>): Promise<string | undefined> {
    const { mode, chosen } = this.options;
    const { label, flag } = KINDS[kind];
    const yours = chosen[kind];
    if (mode === 'always' && !yours) return '--embedded=always';
    const result = await probe();
    if (result.answers) return undefined;
    const reason = result.reason.replace(` ${address}`, '');
    if (yours) throw new StartupError(`${label} at ${address} does not answer (${reason}); it is the server you set (${yours})`);
    if (mode === 'never') {
      throw new StartupError(`${label} at ${address} does not answer (${reason}): start it, set ${flag}, or let watched up start a private one (--embedded=auto)`);
    }
    return `${label} at ${address}: ${reason}`;
  }

  /** The programs the kinds to start need, by their first name; one StartupError naming all that are missing. */
  private programs(kinds: EmbeddedKind[], reasons: Partial<Record<EmbeddedKind, string>>): Map<string, string> {
    const found = new Map<string, string>();
    const missing: string[] = [];
    for (const kind of kinds) {
      for (const names of KINDS[kind].programs) {
        const path = findProgram(names, this.options.binPath);
        if (path) found.set(names[0], path);
        else missing.push(names[0]);
      }
    }
    if (missing.length > 0) {
      const servers = kinds.map((k) => reasons[k]).join('; ');
      const packages = kinds.map((k) => KINDS[k].packageName).join(' ');
      const services = kinds.map((k) => (k === 'mysql' ? 'mariadb' : 'redis')).join(' ');
      const flags = kinds.map((k) => KINDS[k].flag).join(' / ');
      throw new StartupError(
        `${servers}; and ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not installed to start a private one: ` +
          `install ${kinds.length > 1 ? 'them' : 'it'} (Debian/Ubuntu: apt-get install ${packages}), run docker compose up -d ${services}, or set ${flags}`,
      );
    }
    return found;
  }
}

/**
 * Runs `run` on `runtime` with private servers in place of the default ones
 * that do not answer (per the embedded options), and stops them when `run`
 * ends, whether it returns (after a signal) or throws (a failed start-up).
 */
export async function withEmbeddedServices<O extends LoadedEmbeddedOptions>(
  runtime: CommandRuntime<O>,
  run: (runtime: CommandRuntime<O>) => Promise<void>,
): Promise<void> {
  const embedded = new EmbeddedServices(compileEmbeddedOptions(runtime.options, runtime.origins), runtime.logger);
  try {
    await run({ ...runtime, connections: await embedded.start(runtime.connections) });
  } finally {
    await embedded.close();
  }
}
