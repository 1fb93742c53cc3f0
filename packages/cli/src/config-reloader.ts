import { errorMessage, type Logger, type Reloadable } from '@watched/core';

/** What one reload did. */
export interface ReloadReport {
  /** Options whose value changed and now run with it. */
  applied: string[];
  /** Options whose value changed but stay as they were until the process restarts. */
  needRestart: string[];
  /** Why the new configuration was refused (nothing applied), or why a part refused its share. */
  errors: string[];
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Re-reads and applies the configuration of a running process (SIGHUP,
 * SIGUSR1). The new options are validated as a whole first: if any value is
 * invalid, the error names the field and the running configuration stays in
 * force. Then every reloadable part (the logger, the roles) takes what it can
 * change live; options that changed but no part applied are logged as taking
 * effect after a restart, and are compared against their running value again
 * on the next reload.
 */
export class ConfigReloader<O extends object> {
  private running: O;

  constructor(
    initial: O,
    private readonly resolve: () => O,
    private readonly parts: Array<Reloadable<O>>,
    private readonly logger: Logger,
  ) {
    this.running = initial;
  }

  /** The options the process runs with now. */
  get current(): O {
    return this.running;
  }

  async reload(reason: string): Promise<ReloadReport> {
    const report: ReloadReport = { applied: [], needRestart: [], errors: [] };
    let next: O;
    try {
      next = this.resolve();
    } catch (err) {
      report.errors.push(errorMessage(err));
      this.logger.error(`configuration reload (${reason}) refused, the running configuration stays in force: ${errorMessage(err)}`);
      return report;
    }
    const before = this.running as Record<string, unknown>;
    const after = next as Record<string, unknown>;
    const changed = Object.keys(after).filter((key) => !same(before[key], after[key]));
    const taken = new Set<string>();
    for (const part of this.parts) {
      try {
        for (const key of await part.reload(next)) taken.add(key);
      } catch (err) {
        // This part keeps its running options; the others' changes stand.
        report.errors.push(errorMessage(err));
        this.logger.error(`configuration reload (${reason}): ${errorMessage(err)}; that part keeps its running configuration`);
      }
    }
    const running: Record<string, unknown> = { ...after };
    for (const key of changed) {
      if (taken.has(key)) report.applied.push(key);
      else {
        report.needRestart.push(key);
        running[key] = before[key];
      }
    }
    this.running = running as O;
    for (const key of report.needRestart) {
      this.logger.warn(`option ${key} changed, takes effect after restart`);
    }
    // Values may hold secrets (URLs, receiver options): at debug level only, and through the logger's redaction.
    this.logger.debug('options applied by the reload', { applied: Object.fromEntries(report.applied.map((k) => [k, after[k]])) });
    this.logger.info(
      `configuration reloaded (${reason}): ` +
        (report.applied.length ? `applied ${report.applied.join(', ')}` : 'no live option changed') +
        (report.needRestart.length ? `; after restart: ${report.needRestart.join(', ')}` : ''),
    );
    return report;
  }
}
