import type { Pool, RowDataPacket } from '@watched/core';
import type { ThresholdRule } from '../events/threshold-evaluator.js';

const OPERATORS = new Set(['<', '>', '=']);

/**
 * The rules of `h$event_factory` and `s$event_factory`, re-read every
 * `refreshMs` so rules edited in the front apply without a restart
 * (upstream read them once per process).
 */
export class ThresholdRules {
  private rules: ThresholdRule[] = [];
  private loadedAt = Number.NEGATIVE_INFINITY;
  private loading?: Promise<ThresholdRule[]>;

  constructor(
    private readonly pool: Pool,
    private refreshMs: number,
  ) {}

  /** Forgets the rules read (the next `current()` reads them again) and takes a new refresh period (SIGHUP). */
  refresh(refreshMs = this.refreshMs): void {
    this.refreshMs = refreshMs;
    this.loadedAt = Number.NEGATIVE_INFINITY;
  }

  async current(now = Date.now()): Promise<ThresholdRule[]> {
    if (now - this.loadedAt < this.refreshMs) return this.rules;
    this.loading ??= this.load(now).finally(() => (this.loading = undefined));
    return this.loading;
  }

  /** Rules that apply to a series of `type` owned by `ownerId` on resource `resId`. */
  static matching(rules: ThresholdRule[], scope: 'host' | 'service', ownerId: number, resId: number, type: string, properties: string[]) {
    return rules.filter(
      (r) =>
        r.scope === scope &&
        (r.ownerId === null || r.ownerId === ownerId) &&
        (r.resId === null || r.resId === resId) &&
        (r.resType === null || r.resType === type) &&
        properties.includes(r.property),
    );
  }

  private async load(now: number): Promise<ThresholdRule[]> {
    const read = async (table: string, owner: string, scope: 'host' | 'service') => {
      const [rows] = await this.pool.query<RowDataPacket[]>(
        `SELECT id, ${owner} AS owner_id, res_id, res_type, event_type, property, oper, value, for_ms, recovery_value FROM \`${table}\``,
      );
      return rows
        .filter((r) => OPERATORS.has(String(r.oper)) && Number.isFinite(Number(r.value)))
        .map(
          (r): ThresholdRule => ({
            id: Number(r.id),
            scope,
            ownerId: r.owner_id === null ? null : Number(r.owner_id),
            resId: r.res_id === null ? null : Number(r.res_id),
            resType: r.res_type ?? null,
            eventType: Number(r.event_type),
            property: String(r.property),
            oper: r.oper as ThresholdRule['oper'],
            value: Number(r.value),
            forMs: r.for_ms === null ? null : Number(r.for_ms),
            recoveryValue: r.recovery_value === null ? null : Number(r.recovery_value),
          }),
        );
    };
    this.rules = [...(await read('h$event_factory', 'host_id', 'host')), ...(await read('s$event_factory', 'serv_id', 'service'))];
    this.loadedAt = now;
    return this.rules;
  }
}
