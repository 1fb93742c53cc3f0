import type { Connection, RowDataPacket } from '../mysql.js';

export interface DuplicateHost {
  id: number;
  name: string;
  newName: string;
  /** The host that keeps the name (lowest id: the one the front has known longest). */
  keptId: number;
}

/**
 * Hosts whose names differ only by case ('Web1' and 'web1'): watched.back
 * created them when its table compared names case-sensitively; our h$hosts
 * name is case-insensitive (as the worker looks hosts up), so the unique
 * key would refuse them. The lowest id keeps its name; each other one is
 * renamed `<name>~dup<id>` with its history intact, and reported, so an
 * operator can merge or delete it in the front.
 */
export async function findDuplicateHosts(conn: Connection, targetCollation: string): Promise<DuplicateHost[]> {
  if (!/^[a-z0-9_]+$/.test(targetCollation)) throw new Error(`unexpected collation ${targetCollation}`);
  const charset = targetCollation.split('_')[0];
  const key = (alias: string) => `CONVERT(${alias}.name USING ${charset}) COLLATE ${targetCollation}`;
  const [rows] = await conn.query<RowDataPacket[]>(
    `SELECT h.id, h.name, (SELECT MIN(o.id) FROM \`h$hosts\` o WHERE ${key('o')} = ${key('h')}) AS kept
       FROM \`h$hosts\` h
      WHERE EXISTS (SELECT 1 FROM \`h$hosts\` o WHERE ${key('o')} = ${key('h')} AND o.id < h.id)
      ORDER BY h.id`,
  );
  return rows.map((r) => ({ id: Number(r.id), name: String(r.name), newName: `${r.name}~dup${r.id}`, keptId: Number(r.kept) }));
}

export function renameHostSql(host: DuplicateHost): { sql: string; params: unknown[] } {
  return { sql: 'UPDATE `h$hosts` SET name = ? WHERE id = ?', params: [host.newName, host.id] };
}
