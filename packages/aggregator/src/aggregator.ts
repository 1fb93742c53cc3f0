import { IllegalStateError, type Logger, type Service, type ServiceState } from '@watched/core';

/**
 * The aggregator role. This first version only holds the role's place in
 * every process layout (`watched aggregator`, `watched up`, compose,
 * Kubernetes): rollups (am$/ah$/ad$) and retention come with their own
 * issue, and nothing is aggregated until then.
 */
export class Aggregator implements Service {
  readonly name = 'aggregator';
  private state: ServiceState = 'INITIALIZED';

  constructor(private readonly logger: Logger) {}

  async start(): Promise<void> {
    if (this.state !== 'INITIALIZED') throw new IllegalStateError(`aggregator cannot start from ${this.state}`);
    this.state = 'RUNNING';
    this.logger.warn('aggregator: rollups are not implemented yet; raw d$ data is kept and nothing is aggregated');
  }

  async close(): Promise<void> {
    this.state = 'STOPPED';
  }
}
