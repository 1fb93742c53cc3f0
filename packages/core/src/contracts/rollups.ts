/**
 * The rollup levels and the names of their tables: what the aggregator
 * writes (`am$`/`ah$`/`ad$<type>` from `d$<type>`) and what the upgrade from
 * watched.back backfills (core/src/schema/rollup-backfill.ts). One
 * definition, so the two can never disagree on a bucket size.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export type RollupLevelName = 'am' | 'ah' | 'ad';

/** A level of stored data: the raw rows (`d`) or a rollup. */
export type DataLevelName = 'd' | RollupLevelName;

export interface RollupLevel {
  readonly name: RollupLevelName;
  /** Bucket size in ms. */
  readonly size: number;
  /** The level this one is computed from (`d` = raw data). */
  readonly source: DataLevelName;
  /** The coarser level computed from this one, if any. */
  readonly parent?: RollupLevelName;
}

/** Finest first: each level is computed from the one before it. */
export const ROLLUP_LEVELS: readonly RollupLevel[] = [
  { name: 'am', size: MINUTE_MS, source: 'd', parent: 'ah' },
  { name: 'ah', size: HOUR_MS, source: 'am', parent: 'ad' },
  { name: 'ad', size: DAY_MS, source: 'ah' },
];

export function rollupLevel(name: RollupLevelName): RollupLevel {
  return ROLLUP_LEVELS.find((l) => l.name === name)!;
}

/** Table name of a level for a data type: `d$x`, `am$x`, ... */
export function levelTableName(level: DataLevelName, dataType: string): string {
  return `${level}$${dataType}`;
}

/** The data type of a level's table (`am$cpu` -> `cpu`), or undefined for a name that is not `<level>$<type>`. */
export function dataTypeOf(table: string): string | undefined {
  const at = table.indexOf('$');
  if (at < 0) return undefined;
  const level = table.slice(0, at);
  return level === 'd' || ROLLUP_LEVELS.some((l) => l.name === level) ? table.slice(at + 1) : undefined;
}
