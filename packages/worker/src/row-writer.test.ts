import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import mysql from 'mysql2/promise';
import { exactDoubleTypeCast, withTransaction, type Logger, type PoolConnection, type RowDataPacket } from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import { loadDataField } from './load-data.js';
import { RowWriter } from './row-writer.js';
import type { BatchInsert, SqlValue } from './sql-batch.js';

/** Collects the writer's warnings (what an operator would read in the log). */
function warningLog(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, logger: { warn: (message: string) => warnings.push(message) } as unknown as Logger };
}

/** Strings that break naive tab-separated text: separators, escapes, NUL, quotes, the NULL marker, SQL, non-ASCII. */
const HOSTILE = [
  '',
  'plain',
  'tab\there',
  'new\nline',
  'cr\rlf\r\n',
  'back\\slash',
  'trailing backslash\\',
  '\\N',
  'NULL',
  '\\t\\n\\0',
  'nul\0byte',
  "single ' quote",
  'double " quote',
  '`backtick`',
  "'); DROP TABLE x; --",
  'ünïcødé ✓ 日本語 🙂',
  '\t\n\\\0\r',
  'x'.repeat(4096),
];

describe('RowWriter: rows through LOAD DATA LOCAL INFILE, exactly as through INSERT (real MariaDB)', () => {
  let env: TestEnvironment;
  const { logger } = warningLog();
  const loader = new RowWriter({ method: 'load-data', insertBatchRows: 1000, logger });
  const inserter = new RowWriter({ method: 'insert', insertBatchRows: 1000, logger });

  beforeAll(async () => {
    env = await createTestEnvironment('row_writer', { migrate: false });
    // The shapes of a `d$` table (key + DOUBLE metrics, upserted) and of `s$log_events` (text, insert-or-ignore).
    await env.pool.query(
      'CREATE TABLE `d$wp` (`host_id` INT UNSIGNED NOT NULL, `res_id` INT UNSIGNED NOT NULL, `timestamp` DOUBLE NOT NULL, `a` DOUBLE NULL, `b` DOUBLE NULL, PRIMARY KEY (`host_id`, `res_id`, `timestamp`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4',
    );
    await env.pool.query(
      'CREATE TABLE `texts` (`k` INT UNSIGNED NOT NULL PRIMARY KEY, `s` VARCHAR(4096) NULL, `d` DOUBLE NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4',
    );
    await env.pool.query('CREATE TABLE `long_texts` (`k` INT UNSIGNED NOT NULL PRIMARY KEY, `s` MEDIUMTEXT NULL, `d` DOUBLE NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4');
  });
  afterAll(async () => env.cleanup());
  beforeEach(async () => {
    await env.pool.query('DELETE FROM `d$wp`');
    await env.pool.query('DELETE FROM `texts`');
  });

  const metrics = (rows: SqlValue[][]): BatchInsert => ({
    table: 'd$wp',
    columns: ['host_id', 'res_id', 'timestamp', 'a', 'b'],
    rows,
    mode: 'upsert',
    updateColumns: ['a', 'b'],
    replaceable: true,
  });
  const texts = (rows: SqlValue[][]): BatchInsert => ({ table: 'texts', columns: ['k', 's', 'd'], rows, mode: 'ignore' });
  const write = (writer: RowWriter, ...inserts: BatchInsert[]) =>
    withTransaction(env.pool, async (conn: PoolConnection) => {
      for (const insert of inserts) await writer.write(conn, insert);
    });
  const stored = async (table: string, order: string) => {
    const [rows] = await env.pool.query<RowDataPacket[]>({ sql: `SELECT * FROM \`${table}\` ORDER BY ${order}`, rowsAsArray: true });
    return rows as unknown as SqlValue[][];
  };

  it('stores every double exactly: what is read back is the same IEEE value that was written', async () => {
    const special = [5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308, 0.1, 1 / 3, 1e21, 1e-7, 123456789.12345679, 9153.300639898469, 2 ** 53 + 2];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }))), { minLength: 1, maxLength: 200 }), async (pairs) => {
        await env.pool.query('DELETE FROM `d$wp`');
        const values = [...special.map((v) => [v, null] as [number, number | null]), ...pairs];
        // `timestamp` carries a value too: epoch ms with fractions is a double like any other.
        const rows = values.map(([a, b], i) => [1, i, 1_700_000_000_000 + i + a / 1e300, a, b] as SqlValue[]);
        await write(loader, metrics(rows));
        // -0 is stored as 0, as by INSERT (both print it as 0).
        const positiveZero = (v: SqlValue) => (v === 0 ? 0 : v);
        expect(await stored('d$wp', '`res_id`')).toEqual(rows.map((r) => r.map(positiveZero)));
      }),
      { numRuns: 15 },
    );
  });

  it('stores hostile strings as they are, exactly as a multi-row INSERT stores them', async () => {
    const rows = HOSTILE.map((s, k) => [k, s, k + 0.5] as SqlValue[]);
    rows.push([HOSTILE.length, null, null]);
    await write(loader, texts(rows));
    expect(await stored('texts', '`k`')).toEqual(rows);

    // Any string, lone surrogates and control characters included: LOAD DATA stores what INSERT stores.
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 60 }), fc.constantFrom(...HOSTILE)), { minLength: 1, maxLength: 50 }), async (strings) => {
        const batch = strings.map((s, k) => [k, s, null] as SqlValue[]);
        await env.pool.query('DELETE FROM `texts`');
        await write(inserter, texts(batch));
        const byInsert = await stored('texts', '`k`');
        await env.pool.query('DELETE FROM `texts`');
        await write(loader, texts(batch));
        expect(await stored('texts', '`k`')).toEqual(byInsert);
      }),
      { numRuns: 30 },
    );
  });

  it('sends rows of any length whole, lines longer than a chunk of the LOAD DATA text included', async () => {
    // The text goes in chunks of about 256 KB (load-data.ts): some of these fields are larger than a chunk, escaped or not.
    const long = (k: number) => ['\t\n\\', '日本語', 'x', '🙂'][k % 4].repeat(30_000 + k * 1_000);
    const rows = Array.from({ length: 24 }, (_, k) => [k, k % 5 === 4 ? null : long(k), k / 3] as SqlValue[]);
    await write(loader, { table: 'long_texts', columns: ['k', 's', 'd'], rows, mode: 'ignore' });
    expect(await stored('long_texts', '`k`')).toEqual(rows);
  });

  it('replays change nothing: the same rows loaded again leave one row per key with the same values', async () => {
    const rows: SqlValue[][] = Array.from({ length: 500 }, (_, i) => [7, i % 5, 1_700_000_000_000.25 + i, i * 0.1, i % 3 ? null : -i / 7]);
    await write(loader, metrics(rows));
    const first = await stored('d$wp', '`res_id`, `timestamp`');
    expect(first).toHaveLength(500);
    await write(loader, metrics(rows));
    await write(loader, metrics(rows.slice(100, 300)));
    expect(await stored('d$wp', '`res_id`, `timestamp`')).toEqual(first);

    // A newer value for an existing key wins, as with the upsert it replaces; log lines keep the first.
    await write(loader, metrics([[7, 0, 1_700_000_000_000.25, 42.5, null]]));
    const [[changed]] = await env.pool.query<RowDataPacket[]>('SELECT a, b FROM `d$wp` WHERE res_id = 0 AND `timestamp` = 1700000000000.25');
    expect(changed).toEqual({ a: 42.5, b: null });
    await write(loader, texts([[1, 'first', 1]]));
    await write(loader, texts([[1, 'second', 2]]));
    expect(await stored('texts', '`k`')).toEqual([[1, 'first', 1]]);
  });

  it('fails (and rolls back) a load whose data the server would have changed, as a strict INSERT fails', async () => {
    const bad = metrics([
      [1, 1, 1000, 1.5, 2.5],
      [1, 2, 1000, 'not a number' as unknown as number, 1],
    ]);
    await expect(write(loader, bad)).rejects.toThrow(/Incorrect double value|warnings/);
    expect(await stored('d$wp', '`res_id`')).toEqual([]);
    expect(() => loadDataField(Number.NaN)).toThrow(/non-finite/);
    expect(() => loadDataField(Number.POSITIVE_INFINITY)).toThrow(/non-finite/);
  });

  it('falls back to INSERT, with one log line, when the server refuses LOAD DATA LOCAL', async () => {
    // A client that does not offer local files is refused by the server exactly as when local_infile is off.
    const refusing = mysql.createPool({ uri: env.mysqlUrl, flags: ['-LOCAL_FILES'], connectionLimit: 2, typeCast: exactDoubleTypeCast });
    const { logger: log, warnings } = warningLog();
    const writer = new RowWriter({ method: 'load-data', insertBatchRows: 2, logger: log });
    try {
      const rows: SqlValue[][] = [
        [1, 1, 10.5, 1, 2],
        [1, 2, 10.5, 3, null],
        [1, 3, 10.5, 0.1, 0.2],
      ];
      for (const batch of [rows, rows]) {
        await withTransaction(refusing as never, async (conn: PoolConnection) => {
          await writer.write(conn, metrics(batch));
          await writer.write(conn, texts([[9, 'tab\tand\nnewline', null]]));
        });
      }
      expect(await stored('d$wp', '`res_id`')).toEqual(rows);
      expect(await stored('texts', '`k`')).toEqual([[9, 'tab\tand\nnewline', null]]);
      expect(writer.loadsData).toBe(false);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/LOAD DATA LOCAL INFILE refused .*multi-row INSERTs/);
    } finally {
      await refusing.end();
    }
  });
});
