import type { CommandModule } from 'yargs';
import { z } from 'zod';
import { AgentFleet } from '@watched/agent-sim';
import { aggregatorOptionsShape } from '@watched/aggregator';
import { alerterOptionsShape } from '@watched/alerter';
import { coordinatorOptionsShape } from '@watched/coordinator';
import {
  AgentRegistry,
  baseOptionsShape,
  createMysqlPool,
  frontOptionsShape,
  Migrator,
  type Logger,
  type MysqlConnectionOptions,
} from '@watched/core';
import { workerOptionsShape } from '@watched/worker';
import { printFrontAdminNotice } from '../front-admin-notice.js';
import { commandRuntime, withOptions } from '../options.js';
import { statusDisplay } from '../status-display.js';
import { withEmbeddedServices } from '../embedded/embedded-services.js';
import { fleetService } from './sim.js';
import { allOptionsShape } from '../all-options.js';
import { runRoles } from '../role-runtime.js';
import { upAdminOptionsShape, upOptionsShape } from './up-options.js';
import { roleParts, type RoleDefinition, type RoleProcessOptions, type RoleService } from '../role-command.js';
import { ROLES } from '../roles.js';


const UpSchema = z.object(allOptionsShape);
type UpOptions = z.output<typeof UpSchema>;

/**
 * Starts the simulated fleet when `c$agents` holds nothing but agents of a
 * previous simulated fleet, and registers its hosts. Real agents are never
 * mixed with simulated ones.
 */
async function simulatedFleet(options: UpOptions, mysql: MysqlConnectionOptions, logger: Logger): Promise<AgentFleet | undefined> {
  if (options.sim === 0) return undefined;
  const pool = createMysqlPool(mysql, { connectionLimit: 1 });
  try {
    const registry = new AgentRegistry(pool);
    // Loopback only, control API off unless asked: nothing off this host can reach or steer the demo fleet.
    const fleet = new AgentFleet({ hosts: options.sim, port: options.simPort, controlApi: options.simControl });
    const simulated = new Set(fleet.agents().map((a) => `${a.host}:${a.port}`));
    const registered = await registry.list();
    const real = registered.filter((a) => !simulated.has(`${a.host}:${a.port}`) && !/^127\.2\d\./.test(a.host));
    if (real.length > 0) {
      logger.info(`${real.length} agents registered: polling them, no simulated fleet`);
      return undefined;
    }
    const added = await registry.add(fleet.agents().map((a) => ({ host: a.host, port: a.port, pollIntervalS: options.simFreq })));
    const control = options.simControl ? `, fault API on ${fleet.options.tls ? 'https' : 'http'}://127.0.0.1:${options.simPort}/_sim/` : '';
    logger.info(`simulated fleet: ${options.sim} hosts on port ${options.simPort} of 127.20.x.y (${added} newly registered, polled every ${options.simFreq}s${control})`);
    return fleet;
  } finally {
    await pool.end();
  }
}

export const upCommand: CommandModule = {
  command: 'up',
  describe: 'Run every role in one process (migrate first); starts a simulated fleet when no agent is registered',
  builder: (yargs) =>
    withOptions(yargs, baseOptionsShape, upAdminOptionsShape, coordinatorOptionsShape, workerOptionsShape, aggregatorOptionsShape, alerterOptionsShape, upOptionsShape, frontOptionsShape),
  // Private MariaDB/Redis stand in for default ones that do not answer (--embedded), stopped after the roles.
  handler: (argv) => withEmbeddedServices(commandRuntime(argv, UpSchema.shape), async (runtime) => {
    const { options, logger, nodeId, connections, outages } = runtime;
    const result = await new Migrator({
      mysql: connections.mysql, migrationsDir: options.migrationsDir, logger, frontAdminPassword: options.frontAdminPassword,
    }).migrate();
    logger.info(`schema ready (${result.applied.length} migrations applied now, ${result.alreadyApplied} before)`);
    printFrontAdminNotice(result.frontAdmin);

    const fleet = await simulatedFleet(options, connections.mysql, logger);
    await runRoles(runtime, (metrics, mysqlWriter) => {
      // `up`'s options hold every role's (allOptionsShape), so each role reads its own from them.
      const part = <S extends Record<string, z.ZodType>, C, R extends RoleService>(role: RoleDefinition<S, C, R>) =>
        roleParts(role, options as unknown as RoleProcessOptions<S>, { connections, logger: logger.child({ role: role.command }), nodeId, metrics, outages, mysqlWriter });
      const coordinator = part(ROLES.coordinator);
      const worker = part(ROLES.worker);
      const aggregator = part(ROLES.aggregator);
      const alerter = part(ROLES.alerter);
      const status = statusDisplay({
        ...options,
        redis: connections.redis,
        intervalMs: options.statusInterval,
        coordinator: coordinator.service,
        worker: worker.service,
        logger: logger.child({ role: 'status' }),
      });
      return {
        // Started in this order, closed in reverse: the fleet outlives the worker polling it.
        services: [...(fleet ? [fleetService(fleet)] : []), alerter.service, worker.service, coordinator.service, aggregator.service, status],
        ready: { ...alerter.ready, ...worker.ready, ...coordinator.ready, ...aggregator.ready },
        shutdownTimeoutMs: ROLES.worker.shutdownTimeoutMs?.(options as unknown as RoleProcessOptions<typeof workerOptionsShape>),
        reloadable: [coordinator.reloadable, worker.reloadable, alerter.reloadable, aggregator.reloadable],
        routes: [...coordinator.routes, ...worker.routes, ...aggregator.routes, ...alerter.routes],
      };
    });
  }),
};
