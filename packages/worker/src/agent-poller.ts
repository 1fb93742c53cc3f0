import { errorMessage, type AgentState, type Logger } from '@watched/core';
import { AgentCallError, type AgentClient, type AgentRecord, type CallLimits } from './agent-client.js';
import { AgentRefusal, isAgentFault } from './agent-fault.js';
import type { DataTables } from './data-tables.js';
import type { DiscoveryCache } from './discovery-cache.js';
import { checkAgentValues } from './ingest/agent-value-checks.js';
import { parseCatalog, type AgentCatalog } from './ingest/catalog.js';
import { limitReason, type AgentLimits } from './ingest/limits.js';
import { logInserts } from './ingest/logs.js';
import { metricInserts, type SeriesIds } from './ingest/metrics.js';
import { notOkItems, serviceInserts } from './ingest/services.js';
import { parseSnapshot, type AgentSnapshot, type MetricSeries } from './ingest/snapshot.js';
import { resourceCatalogKey, type Inventory } from './inventory.js';
import type { FailedPoll, PollRecord, PollResult, PreparedPoll } from './poll-result.js';
import type { BatchInsert } from './sql-batch.js';

export interface AgentPollerDeps {
  client: AgentClient;
  dataTables: DataTables;
  inventory: Inventory;
  discovery: DiscoveryCache;
  logger: Logger;
  limits: AgentLimits;
}

/**
 * Polls one agent and prepares what it answered for storing, or says why it
 * could not: writing either outcome is PollStore's. Failures are this
 * agent's alone: they are logged and returned, never thrown, except when
 * MySQL itself fails (then the job must retry). What the agent sent is
 * checked against the limits and the schema's columns before anything is
 * created or written: an answer past a limit, or with a name that cannot be
 * stored as sent, fails this agent's poll with a reason naming it.
 */
export class AgentPoller {
  constructor(private readonly deps: AgentPollerDeps) {}

  /**
   * Fetches the agent's data since its cursor and prepares it, or returns why
   * the poll failed. `state`: none if never polled; `limits`: the deadline
   * (and abort signal) its calls must keep.
   */
  async prepare(agent: AgentRecord, slot: number, state: AgentState | undefined, limits?: CallLimits): Promise<PollResult> {
    const since = state?.since ?? undefined;
    const pollTime = Date.now();
    const record: PollRecord = { agentId: agent.id, slot, pollTime, outcome: 'ok', parseErrors: 0 };
    let snapshot: AgentSnapshot;
    let catalog: AgentCatalog;
    try {
      ({ snapshot, catalog } = await this.fetchSnapshot(agent, since, limits));
    } catch (err) {
      if (!(err instanceof AgentCallError)) throw err;
      return this.failed(agent, record, err.reason === 'bad-payload' ? 'parse' : 'failed', err.message, err.reason);
    }
    const answeredMs = Date.now() - pollTime;
    if (since !== undefined && snapshot.timestamp < since) {
      this.deps.logger.warn(`agent ${agent.host}:${agent.port} went back in time (restart?): since ${since}, now ${snapshot.timestamp}`, { agent: agent.id });
    }
    record.parseErrors = snapshot.parseErrors;
    const refused = catalog.refused ?? snapshot.refused;
    if (refused) return this.failed(agent, record, 'failed', refused);
    const values = checkAgentValues(snapshot);
    if (values.refused) return this.failed(agent, record, 'failed', values.refused);
    const problems = [...catalog.problems, ...snapshot.problems, ...values.fitted];
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
    try {
      return await this.prepareRows(snapshot, record, (state?.consecutiveFailures ?? 0) > 0, answeredMs);
    } catch (err) {
      // MySQL or Redis failing fails the job (retried); anything else met preparing this agent's data is its own failure.
      if (!isAgentFault(err)) throw err;
      return this.failed(agent, record, 'failed', err instanceof AgentRefusal ? err.message : `its data could not be prepared: ${errorMessage(err)}`);
    }
  }

  /** This agent's poll failed for `reason` (logged, recorded by the store; its cursor stays). */
  private failed(
    agent: AgentRecord,
    record: PollRecord,
    outcome: 'failed' | 'parse',
    reason: string,
    // what its data did wrong is no lateness: it stays on the hot path (only `timeout` sends it off)
    callReason: FailedPoll['reason'] = 'bad-payload',
  ): FailedPoll {
    const error = reason.startsWith(`agent ${agent.host}:${agent.port}`) ? reason : `agent ${agent.host}:${agent.port}: ${reason}`;
    // Summed up per job (AgentFailureSummary) and recorded in agt$state: one line per agent would flood the log when a fleet is down.
    this.deps.logger.debug(`poll failed: ${error}`, { agent: agent.id });
    return { kind: 'failed', record: { ...record, outcome, error }, reason: callReason, durationMs: Date.now() - record.pollTime };
  }

  private async catalog(agent: AgentRecord, force: boolean, limits: CallLimits | undefined): Promise<AgentCatalog> {
    const cached = force ? undefined : this.deps.discovery.get(agent.id);
    if (cached) return cached;
    const catalog = parseCatalog(await this.deps.client.fetchDiscovery(agent, limits), this.deps.limits);
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
    limits: CallLimits | undefined,
  ): Promise<{ snapshot: AgentSnapshot; catalog: AgentCatalog }> {
    let catalog = await this.catalog(agent, false, limits);
    const body = await this.deps.client.fetchAll(agent, since, limits);
    const parse = (c: AgentCatalog) => {
      try {
        return parseSnapshot(body, c, this.deps.limits);
      } catch (err) {
        throw new AgentCallError(agent, 'bad-payload', errorMessage(err));
      }
    };
    let snapshot = parse(catalog);
    // Each unknown name causes at most one re-read: what stays unknown is remembered in the catalog.
    if (snapshot.unknown.length) {
      this.deps.logger.info(`agent ${agent.host}:${agent.port} sent ${snapshot.unknown.length} unknown resources, re-reading discovery`, { agent: agent.id });
      catalog = await this.catalog(agent, true, limits);
      snapshot = parse(catalog);
      // Names still unknown are sent but not declared: remember them, so they cost no more reads.
      for (const name of snapshot.unknown) catalog.undeclared.add(name);
    }
    return { snapshot, catalog };
  }

  /** Creates what the rows need (tables, inventory ids) and builds the rows; writing them is PollStore's. */
  private async prepareRows(snapshot: AgentSnapshot, record: PollRecord, failing: boolean, answeredMs: number): Promise<PreparedPoll> {
    const { dataTables, inventory } = this.deps;
    const types = new Map(snapshot.metrics.map((m) => [m.type.name, m.type]));
    // New tables (each with its rollup tables) are bounded per poll. Past the bound the poll fails and its
    // cursor stays: the next polls create the next tables and then store everything, nothing is lost.
    const { maxNewDataTables } = this.deps.limits;
    let created = 0;
    for (const type of types.values()) {
      if (created >= maxNewDataTables && !dataTables.has(type)) {
        const missing = [...types.values()].filter((t) => !dataTables.has(t)).length;
        throw new AgentRefusal(
          limitReason(`${created + missing} new data types`, 'maxNewDataTables') + `: ${created} created by this poll, ${missing} left for the next polls`,
        );
      }
      if ((await dataTables.ensure(type)) === 'changed') created += 1;
    }

    const hostNames = [...snapshot.metrics.filter((m) => m.resource.scope === 'system').map((m) => m.host), ...snapshot.services.map((s) => s.host)];
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
        const ownerId = hostIds.get(m.host)!;
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
      answeredMs,
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
