import { dataTableName, ownerColumn } from '../data-tables.js';
import type { BatchInsert } from '../sql-batch.js';
import type { MetricSeries } from './snapshot.js';

/** Ids a series needs: its owner (host or service) and its `c$ressources` row. */
export interface SeriesIds {
  ownerId: number;
  resId: number;
}

/**
 * One upsert per `d$` table holding every row of every series of that type:
 * the primary key (owner, res_id, timestamp) makes a row written twice
 * (a retried job, the agent's inclusive `since`) stored once.
 */
export function metricInserts(series: Array<{ series: MetricSeries; ids: SeriesIds }>): BatchInsert[] {
  const byTable = new Map<string, BatchInsert>();
  for (const { series: s, ids } of series) {
    const table = dataTableName(s.type.name);
    let insert = byTable.get(table);
    if (!insert) {
      insert = {
        table,
        columns: [ownerColumn(s.type.owner), 'res_id', 'timestamp', ...s.type.properties],
        rows: [],
        mode: 'upsert',
        updateColumns: s.type.properties,
        // The key plus every metric column of the type: a REPLACE writes what the upsert writes.
        replaceable: true,
      };
      byTable.set(table, insert);
    }
    for (const row of s.rows) {
      // The series' own arrays: threshold rules read the same rows after the write.
      row[0] = ids.ownerId;
      row[1] = ids.resId;
      insert.rows.push(row);
    }
  }
  return [...byTable.values()];
}
