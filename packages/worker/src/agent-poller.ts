import { errorMessage, withTransaction, type Logger, type Pool } from '@watched/core';
import { AgentCallError, type AgentClient, type AgentRecord } from './agent-client.js';
import { advanceCursor, readCursor, recordFailure, type PollRecord } from './agent-state.js';
import type { DataTables } from './data-tables.js';
import type { DiscoveryCache } from './discovery-cache.js';
import { parseCatalog, type AgentCatalog } from './ingest/catalog.js';
import { logInserts } from './ingest/logs.js';
import { metricInserts } from './ingest/metrics.js';
import { serviceInserts } from './ingest/services.js';
import { parseSnapshot, type AgentSnapshot } from './ingest/snapshot.js';
import { resourceCatalogKey, type Inventory } from './inventory.js';
import { insertBatched, type BatchInsert } from './sql-batch.js';

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
}

/** Unknown names in /all trigger a fresh discovery, but not more than once a minute per agent. */
const REDISCOVERY_MIN_AGE_MS = 60_000;

/**
 * Polls one agent and stores what it answered. Failures are this agent's
 * alone: they are logged, recorded, and returned, never thrown, except when
 * MySQL itself fails (then the job must retry).
 */
export class AgentPoller {
  constructor(private readonly deps: AgentPollerDeps) {}

  async poll(agent: AgentRecord, slot: number): Promise<AgentPollOutcome> {
    const pollTime = Date.now();
    const record: PollRecord = { agentId: agent.id, slot, pollTime, outcome: 'ok', parseErrors: 0 };
    let snapshot: AgentSnapshot;
    let since: number | undefined;
    try {
      since = await readCursor(this.deps.pool, agent.id);
      snapshot = await this.fetchSnapshot(agent, since);
    } catch (err) {
      if (!(err instanceof AgentCallError)) throw err;
      record.outcome = err.reason === 'bad-payload' ? 'parse' : 'failed';
      record.error = err.message;
      this.deps.logger.warn(`poll failed: ${err.message}`, { agent: agent.id });
      await recordFailure(this.deps.pool, record);
      return { agentId: agent.id, ok: false, rows: 0, parseErrors: 0, error: err.message };
    }
    if (since !== undefined && snapshot.timestamp < since) {
      this.deps.logger.warn(`agent ${agent.host}:${agent.port} went back in time (restart?): since ${since}, now ${snapshot.timestamp}`);
    }
    record.parseErrors = snapshot.parseErrors;
    if (snapshot.problems.length) {
      record.error = snapshot.problems.slice(0, 3).join('; ');
      this.deps.logger.warn(`agent ${agent.host}:${agent.port}: ${snapshot.parseErrors} malformed values or rows`, {
        agent: agent.id,
        first: snapshot.problems[0],
      });
    }
    const rows = await this.store(snapshot, record);
    return { agentId: agent.id, ok: true, rows, parseErrors: snapshot.parseErrors };
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

  private async fetchSnapshot(agent: AgentRecord, since: number | undefined): Promise<AgentSnapshot> {
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
    if (snapshot.unknown.length && this.deps.discovery.ageMs(agent.id) >= REDISCOVERY_MIN_AGE_MS) {
      this.deps.logger.info(`agent ${agent.host}:${agent.port} sent ${snapshot.unknown.length} unknown resources, re-reading discovery`);
      catalog = await this.catalog(agent, true);
      snapshot = parse(catalog);
    }
    return snapshot;
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

    const series = [];
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
    return withTransaction(this.deps.pool, async (conn) => {
      let rows = 0;
      for (const insert of inserts) {
        await insertBatched(conn, insert, this.deps.insertBatchRows);
        rows += insert.rows.length;
      }
      await advanceCursor(conn, record, snapshot.timestamp);
      return rows;
    });
  }
}
