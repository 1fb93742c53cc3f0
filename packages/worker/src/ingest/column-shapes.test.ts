import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RowDataPacket } from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import { AGENT_COLUMNS, codePoints, cutToChars, isWellFormed, type ColumnShape } from './column-shapes.js';

describe('the column shapes agent values are checked against', () => {
  let env: TestEnvironment;
  beforeAll(async () => {
    env = await createTestEnvironment('column_shapes');
  });
  afterAll(async () => env.cleanup());

  it('are the migrated schema\'s (type, length, charset), so a migration cannot leave the checks behind', async () => {
    const [rows] = await env.pool.query<RowDataPacket[]>(
      `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, DATA_TYPE AS type, COLUMN_TYPE AS full, CHARACTER_MAXIMUM_LENGTH AS chars, CHARACTER_SET_NAME AS cs
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()`,
    );
    const actual = new Map(rows.map((r) => [`${r.t}.${r.c}`, r]));
    for (const [column, shape] of Object.entries(AGENT_COLUMNS) as Array<[string, ColumnShape]>) {
      const real = actual.get(column);
      expect({ column, exists: real !== undefined }).toEqual({ column, exists: true });
      if (shape.kind === 'varchar') {
        expect({ column, type: real!.type, chars: Number(real!.chars), charset: real!.cs }).toEqual({ column, type: 'varchar', chars: shape.chars, charset: shape.charset });
      } else if (shape.kind === 'int unsigned') {
        expect({ column, type: String(real!.full) }).toEqual({ column, type: 'int(10) unsigned' });
      }
    }
  });

  it('runs the session in strict mode: a value too long is an error, never silently cut', async () => {
    const [[{ mode }]] = await env.pool.query<RowDataPacket[]>('SELECT @@SESSION.sql_mode AS mode');
    expect(String(mode)).toMatch(/STRICT_TRANS_TABLES/);
    await expect(env.pool.query('INSERT INTO `s$types` (name) VALUES (?)', ['t'.repeat(257)])).rejects.toMatchObject({ errno: 1406 });
  });

  it('measures and cuts in characters as MySQL counts them, never half a surrogate pair', () => {
    const emoji = '\u{1F600}';
    expect(codePoints(emoji.repeat(3))).toBe(3);
    expect(cutToChars(`a${emoji}${emoji}`, 2)).toBe(`a${emoji}`);
    expect(cutToChars('abc', 5)).toBe('abc');
    expect(isWellFormed(`ok${emoji}`)).toBe(true);
    expect(isWellFormed('bad\ud800')).toBe(false);
    expect(isWellFormed('\udc00bad')).toBe(false);
  });
});
