import { expect } from '@jest/globals';
import type { AgentFleet } from '@watched/agent-sim';
import { AgentRegistry, type Pool, type RowDataPacket } from '@watched/core';
import { parseCatalog } from '@watched/worker';

/** `host|service|resource|timestamp` -> values by property, as the fleet served them. */
export type RowSet = Map<string, Record<string, number | null>>;

/** Every metric row hosts `indexes` serve for `/all?since=` at `now`, keyed like `storedRows()`. */
export function servedRows(fleet: AgentFleet, indexes: number[], since: number | undefined, now: number): RowSet {
  const rows: RowSet = new Map();
  for (const index of indexes) {
    const model = fleet.model(index);
    const catalog = parseCatalog(model.swagger(now));
    const body = model.all(since, now);
    const add = (host: string, service: string, collectors: Record<string, Record<string, Array<Record<string, unknown>>>>) => {
      for (const [collector, resources] of Object.entries(collectors ?? {})) {
        for (const [resource, list] of Object.entries(resources)) {
          const key = service ? `service/${service}/${collector}/${resource}` : `system/${collector}/${resource}`;
          const type = catalog.types.get(catalog.resources.get(key)!.dataType)!;
          for (const row of list) {
            const values: Record<string, number | null> = {};
            for (const p of type.properties) values[p] = (row[p] as number | null | undefined) ?? null;
            rows.set(`${host}|${service}|${collector}/${resource}|${row.timestamp}`, values);
          }
        }
      }
    };
    add(model.hostname, '', body.system as never);
    for (const [id, service] of Object.entries(body.services ?? {})) add(model.hostname, id, service.collectors as never);
  }
  return rows;
}

/** Every row of every `d$` table, keyed like `servedRows()`, and the number of rows read. */
export async function storedRows(pool: Pool): Promise<{ rows: RowSet; count: number }> {
  const [tables] = await pool.query<RowDataPacket[]>(
    "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'd$%'",
  );
  const rows: RowSet = new Map();
  let count = 0;
  for (const { t } of tables) {
    const [columns] = await pool.query<RowDataPacket[]>(
      'SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
      [t],
    );
    const names = columns.map((c) => String(c.c));
    const props = names.filter((n) => !['host_id', 'serv_id', 'res_id', 'timestamp'].includes(n));
    const service = names.includes('serv_id');
    const [data] = await pool.query<RowDataPacket[]>(
      service
        ? `SELECT h.name AS host, s.name AS service, r.name AS res, d.* FROM \`${t}\` d JOIN \`s$services\` s ON s.id = d.serv_id JOIN \`h$hosts\` h ON h.id = s.host_id JOIN \`c$ressources\` r ON r.id = d.res_id`
        : `SELECT h.name AS host, '' AS service, r.name AS res, d.* FROM \`${t}\` d JOIN \`h$hosts\` h ON h.id = d.host_id JOIN \`c$ressources\` r ON r.id = d.res_id`,
    );
    for (const row of data) {
      const values: Record<string, number | null> = {};
      for (const p of props) values[p] = row[p] === null ? null : Number(row[p]);
      rows.set(`${row.host}|${row.service}|${row.res}|${row.timestamp}`, values);
      count += 1;
    }
  }
  return { rows, count };
}

/** Asserts that MySQL holds exactly the served rows: none missing, none extra, same values. */
export function expectSameRows(stored: RowSet, served: RowSet): void {
  const missing = [...served.keys()].filter((k) => !stored.has(k));
  const extra = [...stored.keys()].filter((k) => !served.has(k));
  expect(missing.slice(0, 5)).toEqual([]);
  expect(extra.slice(0, 5)).toEqual([]);
  let different = 0;
  for (const [key, values] of served) {
    if (JSON.stringify(stored.get(key)) !== JSON.stringify(values) && different++ < 3) {
      expect({ key, stored: stored.get(key) }).toEqual({ key, stored: values });
    }
  }
  expect(different).toBe(0);
}

/**
 * What the fleet served to each agent between `from` and the cursor stored in
 * `agt$state`: with every cursor seeded at `from`, exactly what MySQL must hold.
 */
export async function servedUpToCursors(
  pool: Pool,
  fleet: AgentFleet,
  from: number,
): Promise<{ expected: RowSet; cursors: Array<{ host: string; since: number }> }> {
  const indexOf = new Map(fleet.agents().map((a, i) => [a.host, i]));
  // Every agent's cursor was seeded: one still null (read as 0) would fail the callers' checks, as it should.
  const cursors = (await new AgentRegistry(pool).list()).map((a) => ({ host: a.host, since: Number(a.since) }));
  const expected: RowSet = new Map();
  for (const { host, since } of cursors) {
    for (const [k, v] of servedRows(fleet, [indexOf.get(host)!], from, since)) expected.set(k, v);
  }
  return { expected, cursors };
}
