import type { CommandModule } from 'yargs';
import { requireServers } from '../dependency-checks.js';
import { AgentFleet, type AddressingMode } from '@watched/agent-sim';
import { AgentRegistry, baseOptionsShape, compileConnectionOptions, createMysqlPool, runServices, type Service } from '@watched/core';
import { loggerFor, resolveOptions, withBaseOptions } from '../options.js';

interface SimArgs {
  hosts: number;
  listen: string;
  seed: number;
  addressing: AddressingMode;
  advertise?: string;
  register: boolean;
  control: boolean;
  freq: number;
}

/** Splits `ADDR:PORT` (IPv6 as `[::]:PORT`). */
export function parseListen(value: string): { address: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(value);
  if (!match) throw new Error(`--listen takes ADDR:PORT, got ${JSON.stringify(value)}`);
  return { address: match[1] ?? match[2], port: Number(match[3]) };
}

/** A fleet as a lifecycle service. */
export function fleetService(fleet: AgentFleet): Service {
  return { name: 'agent-sim', start: () => fleet.start(), close: () => fleet.close() };
}

export const simCommand: CommandModule<object, SimArgs> = {
  command: 'sim',
  describe: 'Run a simulated watched.agent fleet (for demos, tests and benchmarks)',
  builder: (yargs) =>
    withBaseOptions(yargs)
      .option('hosts', { type: 'number', default: 20, describe: 'number of simulated hosts' })
      .option('listen', { type: 'string', default: '127.0.0.1:9080', describe: 'ADDR:PORT to listen on (ports mode: first host port); 0.0.0.0:PORT to serve other machines' })
      .option('seed', { type: 'number', default: 1, describe: 'seed of the deterministic data' })
      .option('addressing', {
        choices: ['loopback', 'ports'] as const,
        default: 'loopback' as AddressingMode,
        describe: 'loopback: one port, host i at 127.20.x.y; ports: host i on port+i',
      })
      .option('advertise', { type: 'string', describe: 'host name other machines reach the fleet by (ports mode)' })
      .option('register', { type: 'boolean', default: false, describe: 'register the fleet in c$agents (uses --mysql-url)' })
      .option('control', { type: 'boolean', default: false, describe: 'serve the unauthenticated fault-injection API (/_sim/; ports mode: on port-1)' })
      .option('freq', { type: 'number', default: 60, describe: 'poll interval of registered agents, seconds' }),
  handler: async (argv) => {
    const options = resolveOptions(argv as unknown as Record<string, unknown>, baseOptionsShape);
    const logger = loggerFor(options).child({ role: 'agent-sim' });
    const { address, port } = parseListen(argv.listen);
    const fleet = new AgentFleet({
      hosts: argv.hosts,
      seed: argv.seed,
      mode: argv.addressing,
      bindAddress: address,
      controlApi: argv.control,
      ...(argv.addressing === 'ports' ? { basePort: port, advertiseHost: argv.advertise } : { port }),
    });
    const register: Service = {
      name: 'agent-registration',
      start: async () => {
        const agents = fleet.agents();
        logger.info(`fleet of ${agents.length} hosts: ${agents[0]?.host}:${agents[0]?.port} ... ${agents.at(-1)?.host}:${agents.at(-1)?.port}`);
        if (!argv.register) return;
        const connections = compileConnectionOptions(options);
        await requireServers(connections, { mysql: 'database' });
        const pool = createMysqlPool(connections.mysql, { connectionLimit: 1 });
        try {
          const added = await new AgentRegistry(pool).add(agents.map((a) => ({ host: a.host, port: a.port, pollIntervalS: argv.freq })));
          logger.info(`registered ${added} new agents in c$agents`);
        } finally {
          await pool.end();
        }
      },
      close: async () => undefined,
    };
    await runServices([fleetService(fleet), register], { logger });
  },
};
