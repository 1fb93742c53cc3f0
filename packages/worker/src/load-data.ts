import { Readable } from 'node:stream';
import { quoteIdentifier, type PoolConnection, type ResultSetHeader, type RowDataPacket } from '@watched/core';
import type { BatchInsert, SqlValue } from './sql-batch.js';

/** Bytes of row text per packet sent to the server (mysql2 sends each chunk of the stream as one packet). */
const CHUNK_BYTES = 256 * 1024;

/** What LOAD DATA's default text format escapes (ESCAPED BY '\\'): the escape itself, the separators, NUL and CR. */
const NEEDS_ESCAPE = /[\\\t\n\r\0]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };

/**
 * One value in LOAD DATA's text format: NULL as `\N`; numbers as JavaScript
 * prints them, the shortest text that parses back to the same double (the
 * server's strtod is correctly rounded: the stored DOUBLE is the value);
 * strings with the escape character, tab, newline, CR and NUL escaped, so a
 * string can hold anything and never reads as NULL or a field boundary.
 */
export function loadDataField(value: SqlValue): string {
  if (typeof value === 'number') {
    // Text INSERTs print a non-finite number as `NaN`, which MySQL refuses; here it would load as 0 silently.
    if (!Number.isFinite(value)) throw new Error(`cannot store the non-finite number ${value}`);
    return String(value);
  }
  if (value === null || value === undefined) return '\\N';
  return NEEDS_ESCAPE.test(value) ? value.replace(/[\\\t\n\r\0]/g, (c) => ESCAPES[c]) : value;
}

/** The rows as tab-separated lines, in chunks of about CHUNK_BYTES, built as the server reads them. */
function* rowChunks(rows: SqlValue[][]): Generator<Buffer> {
  let text = '';
  for (const row of rows) {
    for (let j = 0; j < row.length; j++) text += j === 0 ? loadDataField(row[j]) : '\t' + loadDataField(row[j]);
    text += '\n';
    // Characters, not bytes: a chunk of non-ASCII text is at most 3x this, far below a packet's 16 MB.
    if (text.length >= CHUNK_BYTES) {
      yield Buffer.from(text, 'utf8');
      text = '';
    }
  }
  if (text) yield Buffer.from(text, 'utf8');
}

/** How a LOAD DATA meets a stored row with the same key: what the insert's mode means for that statement. */
export type LoadDataDuplicates = 'REPLACE' | 'IGNORE';

/** The LOAD DATA statement for `insert`; the server then asks for the "file", which is the rows streamed. */
export function loadDataStatement(insert: BatchInsert, duplicates: LoadDataDuplicates): string {
  return (
    `LOAD DATA LOCAL INFILE 'watched-rows' ${duplicates} INTO TABLE ${quoteIdentifier(insert.table)} CHARACTER SET utf8mb4 ` +
    `FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ` +
    `(${insert.columns.map(quoteIdentifier).join(', ')})`
  );
}

/**
 * How an insert can be loaded, if at all: `ignore` inserts as LOAD DATA
 * IGNORE (the same as INSERT IGNORE: the stored row stays); upserts that
 * overwrite every column they name but the key, into a table nothing
 * references (`replaceable`), as LOAD DATA REPLACE.
 */
export function loadDataDuplicates(insert: BatchInsert): LoadDataDuplicates | undefined {
  if (insert.mode === 'ignore') return 'IGNORE';
  return insert.replaceable ? 'REPLACE' : undefined;
}

/**
 * local_infile is off on the server, or the client did not offer local files:
 * MariaDB >= 10.5 (4166 ER_LOAD_INFILE_CAPABILITY_DISABLED), MySQL 8 (3948),
 * older servers and proxies (1148 ER_NOT_ALLOWED_COMMAND).
 */
const LOCAL_INFILE_REFUSED = new Set([1148, 3948, 4166]);

export function isLocalInfileRefused(err: unknown): boolean {
  return LOCAL_INFILE_REFUSED.has((err as { errno?: number } | null)?.errno ?? 0);
}

/**
 * Streams the rows of one insert through `LOAD DATA LOCAL INFILE`: no SQL
 * text of the rows, no parse of it by the server, rows sent as they are
 * encoded. MariaDB fails a REPLACE load on bad data in strict mode as it
 * fails an INSERT; MySQL treats data problems of a LOCAL load as warnings
 * (it cannot stop the client mid-file), so for REPLACE loads a warning is
 * thrown as an error too and the transaction rolls back instead of storing
 * a changed value. IGNORE loads keep INSERT IGNORE's rule: warnings are not
 * errors.
 */
export async function loadData(db: PoolConnection, insert: BatchInsert, duplicates: LoadDataDuplicates): Promise<void> {
  if (insert.rows.length === 0) return;
  const [result] = await db.query<ResultSetHeader>({
    sql: loadDataStatement(insert, duplicates),
    infileStreamFactory: () => Readable.from(rowChunks(insert.rows), { objectMode: false }),
  });
  if (duplicates === 'REPLACE' && result.warningStatus > 0) {
    const [warnings] = await db.query<RowDataPacket[]>('SHOW WARNINGS LIMIT 3');
    const first = warnings.map((w) => `${w.Code}: ${w.Message}`).join('; ');
    throw new Error(`loading ${insert.rows.length} rows into ${insert.table} gave ${result.warningStatus} warnings (${first})`);
  }
}
