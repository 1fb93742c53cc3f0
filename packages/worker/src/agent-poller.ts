import { errorMessage, type AgentState, type Logger } from '@watched/core';
import { AgentCallError, type AgentClient, type AgentRecord } from './agent-client.js';
import type { DataTables } from './data-tables.js';
import type { DiscoveryCache } from './discovery-cache.js';
import { parseCatalog, type AgentCatalog } from './ingest/catalog.js';
import { logInserts } from './ingest/logs.js';
import { metricInserts, type SeriesIds } from './ingest/metrics.js';
import { notOkItems, serviceInserts } from './ingest/services.js';
import { parseSnapshot, type AgentSnapshot, type MetricSeries } from './ingest/snapshot.js';
import { resourceCatalogKey, type Inventory } from './inventory.js';
import type { PollRecord, PollResult, PreparedPoll } from './poll-result.js';
import type { BatchInsert } from './sql-batch.js';

export interface AgentPollerDeps {
  client: AgentClient;
  dataTables: DataTables;
  inventory: Inventory;
  discovery: DiscoveryCache;
  logger: Logger;
}

/**
 * Polls one agent and prepares what it answered for storing, or says why it
 * could not: writing either outcome is PollStore's. Failures are this
 * agent's alone: they are logged and returned, never thrown, except when
 * MySQL itself fails (then the job must retry).
 */
export class AgentPoller {
  constructor(private readonly deps: AgentPollerDeps) {}

  /** Fetches the agent's data since its cursor and prepares it, or returns why the poll failed. `state`: none if never polled. */
  async prepare(agent: AgentRecord, slot: number, state: AgentState | undefined): Promise<PollResult> {
    const since = state?.since ?? undefined;
    const pollTime = Date.now();
    const record: PollRecord = { agentId: agent.id, slot, pollTime, outcome: 'ok', parseErrors: 0 };
    let snapshot: AgentSnapshot;
    let catalog: AgentCatalog;
    try {
      ({ snapshot, catalog } = await this.fetchSnapshot(agent, since));
    } catch (err) {
      if (!(err instanceof AgentCallError)) throw err;
      // Summed up per job (AgentFailureSummary) and recorded in agt$state: one line per agent would flood the log when a fleet is down.
      this.deps.logger.debug(`poll failed: ${err.message}`, { agent: agent.id });
      return {
        kind: 'failed',
        record: { ...record, outcome: err.reason === 'bad-payload' ? 'parse' : 'failed', error: err.message },
        durationMs: Date.now() - pollTime,
      };
    }
    if (since !== undefined && snapshot.timestamp < since) {
      this.deps.logger.warn(`agent ${agent.host}:${agent.port} went back in time (restart?): since ${since}, now ${snapshot.timestamp}`, { agent: agent.id });
    }
    record.parseErrors = snapshot.parseErrors;
    const problems = [...catalog.problems, ...snapshot.problems];
    if (problems.length) {
      // Recorded for the agent (agents list, status) while its valid data is stored.
      record.error = problems.slice(0, 3).join('; ');
    }
    if (snapshot.problems.length) {
      this.deps.logger.warn(`agent ${agent.host}:${agent.port}: ${snapshot.parseErrors} malformed values or rows`, {
        agent: agent.id,
        first: snapshot.problems[0],
      });
    }
    return this.prepareRows(snapshot, record, (state?.consecutiveFailures ?? 0) > 0);
  }

  private async catalog(agent: AgentRecord, force: boolean): Promise<AgentCatalog> {
    const cached = force ? undefined : this.deps.discovery.get(agent.id);
    if (cached) return cached;
    const catalog = parseCatalog(await this.deps.client.fetchDiscovery(agent));
    if (catalog.problems.length) {
      this.deps.logger.warn(`agent ${agent.host}:${agent.port}: discovery refused ${catalog.problems.length} names`, {
        agent: agent.id,
        first: catalog.problems[0],
      });
    }
    return this.deps.discovery.set(agent.id, catalog);
  }

  private async fetchSnapshot(
    agent: AgentRecord,
    since: number | undefined,
  ): Promise<{ snapshot: AgentSnapshot; catalog: AgentCatalog }> {
    let catalog = await this.catalog(agent, false);
    const body = await this.deps.client.fetchAll(agent, since);
    const parse = (c: AgentCatalog) => {
      try {
        return parseSnapshot(body, c);
      } catch (err) {
        throw new AgentCallError(agent, 'bad-payload', errorMessage(err));
      }
    };
    let snapshot = parse(catalog);
    // Each unknown name causes at most one re-read: what stays unknown is remembered in the catalog.
    if (snapshot.unknown.length) {
      this.deps.logger.info(`agent ${agent.host}:${agent.port} sent ${snapshot.unknown.length} unknown resources, re-reading discovery`, { agent: agent.id });
      catalog = await this.catalog(agent, true);
      snapshot = parse(catalog);
      // Names still unknown are sent but not declared: remember them, so they cost no more reads.
      for (const name of snapshot.unknown) catalog.undeclared.add(name);
    }
    return { snapshot, catalog };
  }

  /** Creates what the rows need (tables, inventory ids) and builds the rows; writing them is PollStore's. */
  private async prepareRows(snapshot: AgentSnapshot, record: PollRecord, failing: boolean): Promise<PreparedPoll> {
    const { dataTables, inventory } = this.deps;
    const types = new Map(snapshot.metrics.map((m) => [m.type.name, m.type]));
    for (const type of types.values()) await dataTables.ensure(type);

    const hostNames = [...snapshot.metrics.filter((m) => m.resource.scope === 'system').map((m) => m.resource.host), ...snapshot.services.map((s) => s.host)];
    const hostIds = await inventory.hostIds(hostNames);
    const typeIds = await inventory.serviceTypeIds(snapshot.services.map((s) => s.type));
    const serviceIds = await inventory.serviceIds(
      snapshot.services.map((s) => ({ hostId: hostIds.get(s.host)!, name: s.id, typeId: typeIds.get(s.type)! })),
    );
    const serviceKey = (host: string, id: string) => `${hostIds.get(host)}/${id}`;
    const servIdOf = new Map(snapshot.services.map((s) => [s.id, serviceIds.get(serviceKey(s.host, s.id))!]));
    const resourceIds = await inventory.resourceIds(snapshot.metrics.map((m) => m.resource));

    const series: Array<{ series: MetricSeries; ids: SeriesIds }> = [];
    const hostLinks: Array<[number, number]> = [];
    const serviceLinks: Array<[number, number]> = [];
    for (const m of snapshot.metrics) {
      const resId = resourceIds.get(resourceCatalogKey(m.resource))!;
      if (m.resource.scope === 'system') {
        const ownerId = hostIds.get(m.resource.host)!;
        hostLinks.push([ownerId, resId]);
        series.push({ series: m, ids: { ownerId, resId } });
      } else {
        const ownerId = servIdOf.get(m.resource.service!);
        if (ownerId === undefined) continue; // a service resource whose service sent no status: nothing to key it by
        serviceLinks.push([ownerId, resId]);
        series.push({ series: m, ids: { ownerId, resId } });
      }
    }
    await inventory.link('h$ressources', hostLinks);
    await inventory.link('s$ressources', serviceLinks);

    const services = snapshot.services.map((service) => ({ service, servId: servIdOf.get(service.id)! }));
    const inserts: BatchInsert[] = [
      ...metricInserts(series),
      ...serviceInserts(services, record.pollTime, record.slot),
      logInserts(services),
    ];
    return {
      kind: 'prepared',
      record,
      failing,
      cursor: snapshot.timestamp,
      series,
      presence: {
        hostIds: [...hostIds.values()],
        services: services.map(({ service, servId }) => ({ servId, notOk: notOkItems(service) })),
      },
      services,
      inserts,
      rows: inserts.reduce((n, insert) => n + insert.rows.length, 0),
    };
  }
}
