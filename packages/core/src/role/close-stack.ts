import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';

interface Entry {
  name: string;
  close: () => unknown;
}

/**
 * What a role has opened, closed in reverse order of opening. A start that
 * fails half-way closes exactly what it had opened so far, and a close
 * never stops at a failing step: each step is guarded and logged.
 * `close()` is idempotent (a second call returns the same promise); what is
 * pushed after it started is closed at once.
 */
export class CloseStack {
  private readonly entries: Entry[] = [];
  private closing?: Promise<void>;

  constructor(private readonly logger: Logger) {}

  /** Registers `close` to run when the stack closes; returns `resource` so opening and registering is one expression. */
  push<T>(name: string, resource: T, close: (resource: T) => unknown): T {
    const entry = { name, close: () => close(resource) };
    if (this.closing) void this.run(entry);
    else this.entries.push(entry);
    return resource;
  }

  /** Registers a step with no resource (stop a timer, release a lease). */
  defer(name: string, close: () => unknown): void {
    this.push(name, undefined, close);
  }

  /** Steps still to close, most recent first (tests, debugging). */
  get names(): string[] {
    return this.entries.map((e) => e.name).reverse();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      while (this.entries.length) await this.run(this.entries.pop()!);
    })();
    return this.closing;
  }

  private async run(entry: Entry): Promise<void> {
    try {
      await entry.close();
    } catch (err) {
      this.logger.warn(`closing ${entry.name} failed: ${errorMessage(err)}`);
    }
  }
}
