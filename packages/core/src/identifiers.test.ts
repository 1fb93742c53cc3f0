import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { InvalidIdentifierError } from './errors.js';
import { assertIdentifier, isValidIdentifier, quoteIdentifier } from './identifiers.js';
import { createTestEnvironment, type TestEnvironment } from './testing/test-environment.js';

/** Arbitrary strings: printable ASCII-heavy ones and any Unicode (lone surrogates, NUL, control characters included). */
const anyString = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), fc.stringMatching(/^[A-Za-z0-9_$`'"; ]{0,70}$/));

describe('identifiers from agents', () => {
  it('accepts only letters, digits and underscores, starting with a letter, up to 48 characters', () => {
    fc.assert(
      fc.property(anyString, (name) => {
        expect(isValidIdentifier(name)).toBe(/^[A-Za-z][A-Za-z0-9_]{0,47}$/.test(name));
      }),
      { numRuns: 2000 },
    );
    for (const hostile of ['a`b', "x'; DROP TABLE t;--", 'sp ace', 'ünï', 'a$b', 'x'.repeat(49), '', '1abc', 'a\u0000b']) {
      expect(isValidIdentifier(hostile)).toBe(false);
      expect(() => assertIdentifier(hostile, 'property')).toThrow(InvalidIdentifierError);
    }
  });

  it('quotes nothing that could leave the backquotes', () => {
    fc.assert(
      fc.property(anyString, (name) => {
        let quoted: string | undefined;
        try {
          quoted = quoteIdentifier(name);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidIdentifierError);
          return;
        }
        expect(quoted).toBe('`' + name + '`');
        expect(name).not.toMatch(/[`\s'";\\]/);
      }),
      { numRuns: 2000 },
    );
  });

  describe('against MariaDB', () => {
    let env: TestEnvironment;
    beforeAll(async () => {
      env = await createTestEnvironment('identifiers', { migrate: false });
    });
    afterAll(async () => env.cleanup());

    it('every valid name, reserved words included, works as a table and column name', async () => {
      const names = fc.sample(fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,47}$/), 40);
      names.push('select', 'order', 'Table', 'KEY', 'timestamp_x', 'a'.repeat(48));
      const unique = [...new Map(names.map((n) => [n.toLowerCase(), n])).values()];
      await env.pool.query(`CREATE TABLE ${quoteIdentifier('d$probe')} (${unique.map((n) => `${quoteIdentifier(n)} DOUBLE`).join(', ')})`);
      await env.pool.query(`INSERT INTO \`d$probe\` (${unique.map(quoteIdentifier).join(', ')}) VALUES (?)`, [unique.map((_, i) => i)]);
      const [[row]] = (await env.pool.query('SELECT * FROM `d$probe`')) as unknown as [[Record<string, number>]];
      expect(Object.keys(row)).toEqual(unique);
    });
  });
});
