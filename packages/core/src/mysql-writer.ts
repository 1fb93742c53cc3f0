import { errorMessage } from './errors.js';
import type { HostPort } from './config/connection-url.js';
import type { Logger } from './logger.js';

/** `host:port`, how hosts are named in logs, status and readiness. */
export function hostName(host: HostPort): string {
  return host.host.includes(':') ? `[${host.host}]:${host.port}` : `${host.host}:${host.port}`;
}

/** What a probe learnt of a host that answered: whether it takes writes, and why not. */
export type WriterVerdict = { writable: true } | { writable: false; reason: string };

/** One change of writer, as `watched status` shows it. */
export interface WriterFailover {
  /** Epoch ms. */
  at: number;
  /** The previous writer (null for the first choice, which is not a failover and not recorded). */
  from: string;
  to: string;
  reason: string;
}

/** Where a process writes, published in its membership record. */
export interface MysqlWriterStatus {
  /** The host written to now; null while none is chosen (all down, or choosing). */
  writer: string | null;
  /** The hosts of the URL in order. */
  hosts: string[];
  /** The latest failovers and failbacks, oldest first (at most 10). */
  failovers: WriterFailover[];
}

/**
 * The server state a writer needs, read with SHOW (allowed on a Galera node
 * that is not ready, where SELECT is refused): not `read_only` (nor MySQL's
 * `super_read_only`), and on a Galera node (`wsrep_on=ON`) a synced member
 * (`wsrep_local_state=4`) of the primary component (`wsrep_ready=ON`).
 */
export const WRITER_STATE_SQL = [
  "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('read_only', 'super_read_only', 'wsrep_on')",
  "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state', 'wsrep_local_state_comment', 'wsrep_ready')",
] as const;

/** Reads the answer of WRITER_STATE_SQL (rows of Variable_name/Value). */
export function writerVerdict(variables: Array<{ Variable_name: string; Value: string }>, status: Array<{ Variable_name: string; Value: string }>): WriterVerdict {
  const v = new Map(variables.map((r) => [r.Variable_name.toLowerCase(), String(r.Value).toUpperCase()]));
  const s = new Map(status.map((r) => [r.Variable_name.toLowerCase(), String(r.Value)]));
  if (v.get('read_only') === 'ON' || v.get('read_only') === '1') return { writable: false, reason: 'read_only is ON' };
  if (v.get('super_read_only') === 'ON' || v.get('super_read_only') === '1') return { writable: false, reason: 'super_read_only is ON' };
  if (v.get('wsrep_on') === 'ON' || v.get('wsrep_on') === '1') {
    if (s.get('wsrep_ready')?.toUpperCase() !== 'ON') return { writable: false, reason: `Galera node not ready (wsrep_ready=${s.get('wsrep_ready') ?? '?'})` };
    if (s.get('wsrep_local_state') !== '4') {
      return { writable: false, reason: `Galera node not synced (wsrep_local_state=${s.get('wsrep_local_state') ?? '?'} ${s.get('wsrep_local_state_comment') ?? ''})`.trim() };
    }
  }
  return { writable: true };
}

export interface WriterSelectorOptions {
  hosts: readonly HostPort[];
  /** Connects to one host and reads its verdict; throws when it does not answer. */
  probe: (host: HostPort) => Promise<WriterVerdict>;
  logger?: Logger;
  /**
   * How long an earlier host of the list must stay writable before the
   * writer moves back to it (every process then converges on the first
   * writable host again). Default 30 s; null: never (only when the writer fails).
   */
  settleMs?: number | null;
  /** Period of the writer's health check and of the look for a recovered earlier host. Default 2 s. */
  checkIntervalMs?: number;
  /** How long a caller waits for some host to be writable before its statement fails. Default 30 s. */
  selectTimeoutMs?: number;
}

const MAX_FAILOVERS_KEPT = 10;

/**
 * Chooses the MySQL host a process writes to, from the URL's list in order:
 * the first that answers and is writable (see writerVerdict). The writer is
 * kept until it fails: a connection error, a statement refused as read-only
 * or not ready, or the periodic health check seeing it read-only or out of
 * sync; then the list is walked again from the start. A recovered earlier
 * host is taken back only after it stayed writable for `settleMs`, and only
 * for connections handed out from then on: a transaction runs on one
 * connection, so it never moves in the middle. A one-host list (a plain URL,
 * or a proxy such as haproxy) is used as it is, without probing.
 */
export class MysqlWriterSelector {
  private current?: number;
  /** The last writer chosen, kept after a demotion so the failover says where it came from. */
  private previous?: number;
  private choosing?: Promise<number>;
  private readonly history: WriterFailover[] = [];
  /** Since when each earlier host has been writable without a break (failback). */
  private readonly writableSince = new Map<number, number>();
  private missedChecks = 0;
  private timer?: NodeJS.Timeout;
  private checking = false;
  private closed = false;
  private readonly settleMs: number | null;
  private readonly checkIntervalMs: number;
  private readonly selectTimeoutMs: number;
  readonly names: readonly string[];

  constructor(private readonly options: WriterSelectorOptions) {
    if (options.hosts.length === 0) throw new Error('a MySQL target needs at least one host');
    this.names = options.hosts.map(hostName);
    this.settleMs = options.settleMs === undefined ? 30_000 : options.settleMs;
    this.checkIntervalMs = options.checkIntervalMs ?? 2_000;
    this.selectTimeoutMs = options.selectTimeoutMs ?? 30_000;
  }

  get multiHost(): boolean {
    return this.options.hosts.length > 1;
  }

  get hosts(): readonly HostPort[] {
    return this.options.hosts;
  }

  /** The index of the host to write to now, choosing one when there is none. */
  writer(): Promise<number> {
    if (!this.multiHost) return Promise.resolve(0);
    this.startChecks();
    if (this.current !== undefined) return Promise.resolve(this.current);
    this.choosing ??= this.choose().finally(() => (this.choosing = undefined));
    return this.choosing;
  }

  status(): MysqlWriterStatus {
    const writer = this.multiHost ? this.current : 0;
    return { writer: writer === undefined ? null : this.names[writer], hosts: [...this.names], failovers: [...this.history] };
  }

  /**
   * Host `index` failed in a way that says it may be no writer now (its
   * connection broke, it refused a write as read-only or not ready): the
   * next caller walks the list again. Ignored for a host that is not the writer.
   */
  demote(index: number, reason: string): void {
    if (!this.multiHost || this.current !== index) return;
    this.current = undefined;
    this.options.logger?.warn(`MySQL writer ${this.names[index]} given up: ${reason}; looking for the next writable host`);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async choose(): Promise<number> {
    const deadline = Date.now() + this.selectTimeoutMs;
    for (;;) {
      const reasons: string[] = [];
      for (let index = 0; index < this.options.hosts.length; index++) {
        const verdict = await this.verdict(index);
        if (verdict.writable) {
          this.adopt(index, this.previous === undefined ? 'first choice' : `previous writer ${this.names[this.previous]} failed`);
          return index;
        }
        reasons.push(`${this.names[index]}: ${verdict.reason}`);
      }
      if (this.closed || Date.now() >= deadline) throw new Error(`no writable MySQL host (${reasons.join('; ')})`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  private async verdict(index: number): Promise<WriterVerdict> {
    try {
      return await this.options.probe(this.options.hosts[index]);
    } catch (err) {
      return { writable: false, reason: `does not answer (${errorMessage(err)})` };
    }
  }

  private adopt(index: number, reason: string): void {
    this.current = index;
    this.missedChecks = 0;
    this.writableSince.clear();
    if (this.previous !== undefined && this.previous !== index) {
      const failover = { at: Date.now(), from: this.names[this.previous], to: this.names[index], reason };
      this.history.push(failover);
      if (this.history.length > MAX_FAILOVERS_KEPT) this.history.shift();
      this.options.logger?.warn(`MySQL writer is now ${failover.to} (was ${failover.from}): ${reason}`);
    }
    this.previous = index;
  }

  private startChecks(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => void this.check(), this.checkIntervalMs);
    this.timer.unref();
  }

  /** The writer's health check, and the look for a recovered earlier host. */
  private async check(): Promise<void> {
    if (this.checking || this.closed || this.current === undefined) return;
    this.checking = true;
    try {
      const index = this.current;
      const verdict = await this.verdict(index);
      if (!verdict.writable) {
        // A host that answers "read-only" is given up at once; one missed answer may be load, two are not.
        const answered = !verdict.reason.startsWith('does not answer');
        if (answered || ++this.missedChecks >= 2) this.demote(index, verdict.reason);
        return;
      }
      this.missedChecks = 0;
      if (this.settleMs === null) return;
      for (let earlier = 0; earlier < index; earlier++) {
        if (!(await this.verdict(earlier)).writable) {
          this.writableSince.delete(earlier);
          continue;
        }
        const since = this.writableSince.get(earlier) ?? Date.now();
        this.writableSince.set(earlier, since);
        if (Date.now() - since >= this.settleMs && this.current === index) {
          this.adopt(earlier, `${this.names[earlier]} writable again for ${Math.round(this.settleMs / 1000)} s (earlier in the list)`);
        }
        return;
      }
    } finally {
      this.checking = false;
    }
  }
}
