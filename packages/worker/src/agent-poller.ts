import { errorMessage, withTransaction, type Logger, type Pool, type WatchedMetrics } from '@watched/core';
import { AgentCallError, type AgentClient, type AgentRecord } from './agent-client.js';
import { advanceCursor, readCursor, recordFailure, type PollRecord } from './agent-state.js';
import type { DataTables } from './data-tables.js';
import type { DiscoveryCache } from './discovery-cache.js';
import { parseCatalog, type AgentCatalog } from './ingest/catalog.js';
import { logInserts } from './ingest/logs.js';
import { metricInserts, type SeriesIds } from './ingest/metrics.js';
import { serviceInserts } from './ingest/services.js';
import { parseSnapshot, type AgentSnapshot, type MetricSeries } from './ingest/snapshot.js';
import { resourceCatalogKey, type Inventory } from './inventory.js';
import { insertBatched, type BatchInsert } from './sql-batch.js';
import { closeAgentFailure, openAgentFailure } from './events/agent-failures.js';
import type { EventSink, MonitoringEvent } from './events/event-sink.js';
import { applyThresholds } from './events/threshold-writer.js';
import { applyPresence } from './events/presence.js';
import { isOkStatus } from './ingest/services.js';
import type { ThresholdRules } from './events/threshold-rules.js';

export interface AgentPollOutcome {
  agentId: number;
  ok: boolean;
  rows: number;
  parseErrors: number;
  error?: string;
}

export interface AgentPollerDeps {
  pool: Pool;
  client: AgentClient;
  dataTables: DataTables;
  inventory: Inventory;
  discovery: DiscoveryCache;
  logger: Logger;
  insertBatchRows: number;
  rules: ThresholdRules;
  events: EventSink;
  /** Consecutive failed polls that open an agent-failed event. */
  agentFailureThreshold: number;
  /** How long a host or service may go unreported before it counts as missing. */
  missingAfterMs: number;
  metrics?: WatchedMetrics;
}

/**
 * Polls one agent and stores what it answered. Failures are this agent's
 * alone: they are logged, recorded, and returned, never thrown, except when
 * MySQL itself fails (then the job must retry).
 */
export class AgentPoller {
  constructor(private readonly deps: AgentPollerDeps) {}

  async poll(agent: AgentRecord, slot: number): Promise<AgentPollOutcome> {
    const outcome = await this.pollOnce(agent, slot);
    this.deps.metrics?.observePoll(outcome.ok ? 'ok' : 'failed', (Date.now() - outcome.pollTime) / 1000);
    if (outcome.rows) this.deps.metrics?.rowsWritten.inc({ kind: 'all' }, outcome.rows);
    return outcome;
  }

  private async pollOnce(agent: AgentRecord, slot: number): Promise<AgentPollOutcome & { pollTime: number }> {
    const pollTime = Date.now();
    const record: PollRecord = { agentId: agent.id, slot, pollTime, outcome: 'ok', parseErrors: 0 };
    let snapshot: AgentSnapshot;
    let catalog: AgentCatalog;
    let since: number | undefined;
    try {
      since = await readCursor(this.deps.pool, agent.id);
      ({ snapshot, catalog } = await this.fetchSnapshot(agent, since));
    } catch (err) {
      if (!(err instanceof AgentCallError)) throw err;
      record.outcome = err.reason === 'bad-payload' ? 'parse' : 'failed';
      record.error = err.message;
      this.deps.logger.warn(`poll failed: ${err.message}`, { agent: agent.id });
      await recordFailure(this.deps.pool, record);
      const opened = await openAgentFailure(this.deps.pool, agent.id, this.deps.agentFailureThreshold, err.message);
      if (opened) await this.announce([opened]);
      return { agentId: agent.id, ok: false, rows: 0, parseErrors: 0, error: err.message, pollTime };
    }
    if (since !== undefined && snapshot.timestamp < since) {
      this.deps.logger.warn(`agent ${agent.host}:${agent.port} went back in time (restart?): since ${since}, now ${snapshot.timestamp}`);
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
    const rows = await this.store(snapshot, record);
    return { agentId: agent.id, ok: true, rows, parseErrors: snapshot.parseErrors, pollTime };
  }

  /**
   * Hands committed events to alerting. A failure here is logged, not
   * thrown: the rows are committed and a retried poll would not announce
   * them again; the alerter's reconciler finds transitions it never saw.
   */
  private async announce(events: MonitoringEvent[]): Promise<void> {
    try {
      await this.deps.events.publish(events);
    } catch (err) {
      this.deps.logger.error(`could not hand ${events.length} events to alerting: ${errorMessage(err)}`);
    }
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
    this.deps.discovery.set(agent.id, catalog);
    return catalog;
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
      this.deps.logger.info(`agent ${agent.host}:${agent.port} sent ${snapshot.unknown.length} unknown resources, re-reading discovery`);
      catalog = await this.catalog(agent, true);
      snapshot = parse(catalog);
      // Names still unknown are sent but not declared: remember them, so they cost no more reads.
      for (const name of snapshot.unknown) catalog.undeclared.add(name);
    }
    return { snapshot, catalog };
  }

  /** Creates what the rows need (tables, inventory ids), then writes rows and cursor in one transaction. */
  private async store(snapshot: AgentSnapshot, record: PollRecord): Promise<number> {
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
    const rules = await this.deps.rules.current();
    const { rows, events } = await withTransaction(this.deps.pool, async (conn) => {
      let written = 0;
      for (const insert of inserts) {
        await insertBatched(conn, insert, this.deps.insertBatchRows);
        written += insert.rows.length;
      }
      const changed: MonitoringEvent[] = await applyThresholds(conn, rules, series);
      changed.push(
        ...(await applyPresence(conn, {
          agentId: record.agentId,
          pollTime: record.pollTime,
          slot: record.slot,
          hostIds: [...hostIds.values()],
          services: services.map(({ service, servId }) => ({
            servId,
            notOk: [...service.process, ...service.sockets].filter((x) => !isOkStatus(x.status)).map((x) => x.name),
          })),
          missingAfterMs: this.deps.missingAfterMs,
        })),
      );
      const recovered = await closeAgentFailure(conn, record.agentId, record.pollTime);
      if (recovered) changed.push(recovered);
      await advanceCursor(conn, record, snapshot.timestamp);
      return { rows: written, events: changed };
    });
    if (events.length) await this.announce(events);
    return rows;
  }
}
