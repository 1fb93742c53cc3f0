/**
 * The shape of every column a value sent by an agent lands in, as the
 * migrations define it (0001_upstream_schema.sql). One table, so every check
 * reads its limit from here instead of a constant of its own; a test
 * compares it with information_schema, so a migration that changes a column
 * cannot leave it behind.
 *
 * Every one of these tables is utf8mb4: 4-byte characters fit, and
 * VARCHAR(n) counts characters (code points), not bytes or UTF-16 units.
 */
export type ColumnShape =
  | { kind: 'varchar'; chars: number; charset: 'utf8mb4' }
  | { kind: 'int unsigned' }
  | { kind: 'double' };

const varchar = (chars: number): ColumnShape => ({ kind: 'varchar', chars, charset: 'utf8mb4' });
const UNSIGNED: ColumnShape = { kind: 'int unsigned' };

export const AGENT_COLUMNS = {
  'h$hosts.name': varchar(256),
  's$types.name': varchar(256),
  's$services.name': varchar(256),
  'c$ressources.name': varchar(256),
  'c$ressources.origin': varchar(256),
  'c$ressources.data_type': varchar(256),
  's$process.name': varchar(256),
  's$process.full_path': varchar(256),
  's$process.cwd': varchar(256),
  's$process.username': varchar(256),
  's$process.status': varchar(256),
  's$process.pid': UNSIGNED,
  's$sockets.name': varchar(256),
  's$sockets.status': varchar(256),
  's$log_events.source_name': varchar(256),
  's$log_events.date_field': varchar(256),
  's$log_events.line_no': UNSIGNED,
  's$log_events.text': varchar(4096),
} as const satisfies Record<string, ColumnShape>;

export type AgentColumn = keyof typeof AGENT_COLUMNS;

/** Largest value of an INT UNSIGNED column. */
export const INT_UNSIGNED_MAX = 0xffffffff;

/** Characters of a VARCHAR column. */
export function columnChars(column: AgentColumn): number {
  const shape: ColumnShape = AGENT_COLUMNS[column];
  if (shape.kind !== 'varchar') throw new Error(`${column} is not a text column`);
  return shape.chars;
}

/** Length in characters as MySQL counts them (code points: a surrogate pair is one). */
export function codePoints(value: string): number {
  let n = value.length;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length) {
      const d = value.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n -= 1;
        i += 1;
      }
    }
  }
  return n;
}

/** The first `chars` code points of `value`, never half a surrogate pair. */
export function cutToChars(value: string, chars: number): string {
  if (value.length <= chars) return value;
  let units = 0;
  for (let n = 0; n < chars && units < value.length; n++) {
    const c = value.charCodeAt(units);
    units += c >= 0xd800 && c <= 0xdbff && units + 1 < value.length ? 2 : 1;
  }
  return value.slice(0, units);
}

/**
 * Whether `value` can be encoded as UTF-8 as sent: a lone surrogate (JSON's
 * `"\ud800"`) has no UTF-8 form and would be stored as U+FFFD, i.e. not
 * what the agent sent.
 */
export function isWellFormed(value: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(value);
}
