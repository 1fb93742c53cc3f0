import { DAY_MS, HOUR_MS, MINUTE_MS, type Pool, type RowDataPacket } from '@watched/core';

/** Delays and retentions of one data type, in ms (retention 0 = keep forever). */
export interface TypeConfig {
  delay: { am: number; ah: number; ad: number };
  retention: { d: number; am: number; ah: number; ad: number };
}

/** Overrides of the 'default' row from the role's options (ms). */
export interface DelayOverrides {
  am?: number;
  ah?: number;
  ad?: number;
}

/** Upstream's defaults (schema.md), used when even the 'default' row is missing. */
const FALLBACK = { delay_am: 30, delay_ah: 2, delay_ad: 1, retention_d: 14, retention_am: 60, retention_ah: 730, retention_ad: 0 };
type Row = typeof FALLBACK;

function toConfig(row: Row): TypeConfig {
  return {
    delay: { am: row.delay_am * MINUTE_MS, ah: row.delay_ah * HOUR_MS, ad: row.delay_ad * DAY_MS },
    retention: {
      d: row.retention_d * DAY_MS,
      am: row.retention_am * DAY_MS,
      ah: row.retention_ah * DAY_MS,
      ad: row.retention_ad * DAY_MS,
    },
  };
}

/**
 * Reads `c$aggregate_config` (the front's admin page writes it): the row
 * whose name is the data type wins, else the 'default' row, whose delays the
 * role's options may override. Read once per pass, so changes apply at the
 * next pass.
 */
export class AggregateConfig {
  private constructor(
    private readonly byName: Map<string, TypeConfig>,
    private readonly fallback: TypeConfig,
  ) {}

  /** `rawRetentionMs` overrides the 'default' row's retention_d (the role's option; shortened by the bench). */
  static async load(pool: Pool, overrides: DelayOverrides = {}, rawRetentionMs?: number): Promise<AggregateConfig> {
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT name, delay_am, delay_ah, delay_ad, retention_d, retention_am, retention_ah, retention_ad FROM `c$aggregate_config`',
    );
    const byName = new Map<string, TypeConfig>();
    let fallback = toConfig(FALLBACK);
    for (const row of rows) {
      const values = Object.fromEntries(Object.keys(FALLBACK).map((k) => [k, Number(row[k])])) as Row;
      if (row.name === 'default') fallback = toConfig(values);
      else byName.set(String(row.name), toConfig(values));
    }
    fallback = {
      delay: {
        am: overrides.am ?? fallback.delay.am,
        ah: overrides.ah ?? fallback.delay.ah,
        ad: overrides.ad ?? fallback.delay.ad,
      },
      retention: { ...fallback.retention, d: rawRetentionMs ?? fallback.retention.d },
    };
    return new AggregateConfig(byName, fallback);
  }

  for(dataType: string): TypeConfig {
    return this.byName.get(dataType) ?? this.fallback;
  }
}
