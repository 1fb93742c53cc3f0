import { Resolver } from 'node:dns/promises';
import { agentKey, validateAgent, type ListedAgent, type Logger } from '@watched/core';
import { AgentSource, type Listing } from './agent-source.js';
import type { DnsName } from './discovery-options.js';

/** Answers that mean "no such records" (an empty listing), not "could not ask" (keep the previous one). */
const NO_RECORDS = new Set(['ENOTFOUND', 'ENODATA']);

/** A resolver per source, on the configured servers (or the system's), with a bounded wait. */
export function dnsResolver(servers: readonly string[]): Resolver {
  const resolver = new Resolver({ timeout: 2000, tries: 2 });
  if (servers.length) resolver.setServers([...servers]);
  return resolver;
}

async function records<T>(query: Promise<T[]>): Promise<T[]> {
  try {
    return await query;
  } catch (err) {
    if (NO_RECORDS.has((err as NodeJS.ErrnoException).code ?? '')) return [];
    throw err;
  }
}

function listingOf(agents: ListedAgent[]): Listing {
  return new Map(agents.map((a) => [agentKey(a), a]));
}

/**
 * The `dns` source for a name with a port: every A and AAAA address of the
 * name is an agent on that port (a Kubernetes headless Service answers with
 * one address per ready pod: one per node for an agent DaemonSet). A name
 * that does not exist, or has no address, lists no agent; a server that does
 * not answer keeps the previous listing.
 */
export class DnsAddressSource extends AgentSource {
  constructor(
    private readonly target: DnsName,
    private readonly resolver: Resolver,
    logger: Logger,
  ) {
    super('dns', `dns:${target.name}:${target.port}`, logger);
  }

  protected async read(): Promise<Listing> {
    const [v4, v6] = await Promise.all([records(this.resolver.resolve4(this.target.name)), records(this.resolver.resolve6(this.target.name))]);
    return listingOf([...v4, ...v6].map((address) => ({ ...validateAgent({ host: address, port: this.target.port }), pollIntervalS: undefined, useSsl: undefined, labels: { dns: this.target.name } })));
  }
}

/** The `dns` source for an SRV name: each record's target and port is an agent. */
export class DnsSrvSource extends AgentSource {
  constructor(
    private readonly srvName: string,
    private readonly resolver: Resolver,
    logger: Logger,
  ) {
    super('dns', `srv:${srvName}`, logger);
  }

  protected async read(): Promise<Listing> {
    const answers = await records(this.resolver.resolveSrv(this.srvName));
    return listingOf(
      answers
        .filter((r) => r.name !== '' && r.name !== '.') // "." means the service is decidedly not available here (RFC 2782)
        .map((r) => ({ ...validateAgent({ host: r.name.replace(/\.$/, ''), port: r.port }), pollIntervalS: undefined, useSsl: undefined, labels: { srv: this.srvName } })),
    );
  }
}
