import { errorMessage, type ListedAgent, type Logger } from '@watched/core';

/** The kinds of discovery source (a metric label, and the prefix of a source's name). */
export type SourceKind = 'file' | 'dns' | 'http';

/** An agent a source lists, by `agentKey`. */
export type Listing = ReadonlyMap<string, ListedAgent>;

/**
 * One discovery source: a file glob, a DNS name, the HTTP registrations.
 * `refresh()` re-reads it and never throws: a failed read keeps the previous
 * listing (a DNS server down must not retire every agent) and says why in
 * `error`. Until a first successful read `listing` is undefined, and
 * reconciliation leaves the agents this source listed before alone.
 */
export abstract class AgentSource {
  private current?: Listing;
  private lastError?: string;
  /** Failed reads since start (metrics). */
  errors = 0;

  protected constructor(
    readonly kind: SourceKind,
    /** Stable and unique among the sources, e.g. `file:/etc/watched/agents/*.yaml`, `dns:agents.monitoring.svc:9080`, `srv:_watched._tcp.example.org`, `http`. */
    readonly name: string,
    protected readonly logger: Logger,
  ) {}

  get listing(): Listing | undefined {
    return this.current;
  }

  /** Why the last read failed (or, for files, which file was refused), undefined when it went well. */
  get error(): string | undefined {
    return this.lastError;
  }

  async refresh(): Promise<void> {
    try {
      this.current = await this.read();
      this.setError(this.problem());
    } catch (err) {
      this.errors += 1;
      this.setError(errorMessage(err));
    }
  }

  /** Stops watching (files). Idempotent. */
  close(): void {}

  /** Reads the whole listing; throws when it cannot (the previous one is kept). */
  protected abstract read(): Promise<Listing>;

  /** A problem of a read that still produced a listing (a file refused, its previous content kept). */
  protected problem(): string | undefined {
    return undefined;
  }

  private setError(error: string | undefined): void {
    // Logged on change, not at every interval: a source broken for an hour says so once (and again when fixed).
    if (error !== undefined && error !== this.lastError) this.logger.error(`discovery source ${this.name}: ${error}${this.current ? '; its previous listing is kept' : ''}`);
    if (error === undefined && this.lastError !== undefined) this.logger.info(`discovery source ${this.name} reads again (${this.current?.size ?? 0} agents)`);
    this.lastError = error;
  }
}
