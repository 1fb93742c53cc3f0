import type { Logger } from '@watched/core';
import { AgentSource, type Listing } from './agent-source.js';
import type { AgentRegistrations } from './agent-registrations.js';

/** The `http` source: the agents registered through `POST /api/agents` (`agt$registrations`). */
export class HttpSource extends AgentSource {
  constructor(
    private readonly registrations: AgentRegistrations,
    logger: Logger,
  ) {
    super('http', 'http', logger);
  }

  protected read(): Promise<Listing> {
    return this.registrations.list();
  }
}
