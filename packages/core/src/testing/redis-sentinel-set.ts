import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from '../redis.js';
import { RedisProcess } from './redis-process.js';
import { freePort } from './tls-servers.js';
import { waitFor } from './wait-for.js';

export interface RedisSentinelSetOptions {
  /** The name the sentinels monitor (the URL's path). */
  masterName?: string;
  replicas?: number;
  sentinels?: number;
}

/**
 * A private Redis with Sentinel for fault tests (and the bench): a master,
 * its replicas and the sentinels watching them, each a redis-server of its
 * own on free loopback ports, without persistence. Settings from
 * /work/shared/ha-facts.md: `down-after-milliseconds 2000` (a kill is
 * noticed in ~2 s, a replica promoted in ~3 s), a quorum of 2,
 * `repl-diskless-sync-delay 0` (replicas in sync in ~2.5 s).
 */
export class RedisSentinelSet {
  readonly masterName: string;
  readonly dataNodes: RedisProcess[] = [];
  readonly sentinels: RedisProcess[] = [];
  private dir = '';

  constructor(private readonly options: RedisSentinelSetOptions = {}) {
    this.masterName = options.masterName ?? 'watched-test';
  }

  /** `redis+sentinel://127.0.0.1:P1,.../MASTER`: what watched is given. */
  get url(): string {
    return `redis+sentinel://${this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${this.masterName}`;
  }

  /** Starts the data nodes, then the sentinels; resolves once the replicas are in sync and every sentinel knows every other member. */
  async start(): Promise<this> {
    this.dir = mkdtempSync(join(tmpdir(), 'watched-sentinel-'));
    const data = ['save ""', 'appendonly no', 'repl-diskless-sync yes', 'repl-diskless-sync-delay 0'];
    const masterPort = await freePort();
    this.dataNodes.push(new RedisProcess(masterPort, join(this.dir, `data-${masterPort}`), data));
    for (let i = 0; i < (this.options.replicas ?? 2); i++) {
      const port = await freePort();
      this.dataNodes.push(new RedisProcess(port, join(this.dir, `data-${port}`), [...data, `replicaof 127.0.0.1 ${masterPort}`]));
    }
    await Promise.all(this.dataNodes.map((n) => n.start()));
    for (let i = 0; i < (this.options.sentinels ?? 3); i++) {
      const port = await freePort();
      this.sentinels.push(
        new RedisProcess(
          port,
          join(this.dir, `sentinel-${port}`),
          [
            `sentinel monitor ${this.masterName} 127.0.0.1 ${masterPort} 2`,
            `sentinel down-after-milliseconds ${this.masterName} 2000`,
            `sentinel failover-timeout ${this.masterName} 10000`,
            `sentinel parallel-syncs ${this.masterName} 2`,
          ],
          true,
        ),
      );
    }
    await Promise.all(this.sentinels.map((s) => s.start()));
    await this.settled();
    return this;
  }

  /** The master every running sentinel names, once they agree (its port). */
  async masterPort(): Promise<number | undefined> {
    const answers = await Promise.all(
      this.sentinels.filter((s) => s.running).map((s) => s.with((c) => call(c, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.masterName])).catch(() => null)),
    );
    const ports = new Set(answers.map((a) => (Array.isArray(a) ? Number(a[1]) : NaN)));
    return ports.size === 1 && !ports.has(NaN) ? [...ports][0] : undefined;
  }

  /** The data node of `port`. */
  node(port: number): RedisProcess {
    const node = this.dataNodes.find((n) => n.port === port);
    if (!node) throw new Error(`no data node on port ${port}`);
    return node;
  }

  /**
   * Waits until every sentinel names a master other than `formerPort`, that
   * node says it is a master, and the other live data nodes replicate it;
   * returns its port.
   */
  async promotedFrom(formerPort: number, timeoutMs = 30_000): Promise<number> {
    return waitFor(
      `a master other than ${formerPort}`,
      async () => {
        const port = await this.masterPort();
        if (port === undefined || port === formerPort) return undefined;
        const role = await this.node(port).with((c) => c.call('ROLE')).catch(() => null);
        return Array.isArray(role) && role[0] === 'master' ? port : undefined;
      },
      timeoutMs,
      100,
    );
  }

  /** `SENTINEL FAILOVER` through the first running sentinel (the old master stays alive). */
  async failover(): Promise<void> {
    const sentinel = this.sentinels.find((s) => s.running);
    await sentinel!.with((c) => call(c, ['SENTINEL', 'FAILOVER', this.masterName]));
  }

  /** Waits for a quiet set: one master every sentinel names, every live replica online, every sentinel knowing the replicas and the other sentinels. */
  async settled(timeoutMs = 45_000): Promise<void> {
    const live = () => this.dataNodes.filter((n) => n.running).length;
    await waitFor(
      'the Sentinel set to settle',
      async () => {
        const port = await this.masterPort();
        if (port === undefined) return false;
        const info = await this.node(port).with((c) => c.info('replication')).catch(() => '');
        const online = (info.match(/state=online/g) ?? []).length;
        if (online < live() - 1) return false;
        const views = await Promise.all(
          this.sentinels
            .filter((s) => s.running)
            .map((s) =>
              s.with(async (c) => {
                const replicas = (await call(c, ['SENTINEL', 'REPLICAS', this.masterName])) as unknown[];
                const others = (await call(c, ['SENTINEL', 'SENTINELS', this.masterName])) as unknown[];
                return replicas.length >= live() - 1 && others.length >= this.sentinels.length - 1;
              }).catch(() => false),
            ),
        );
        return views.every(Boolean);
      },
      timeoutMs,
      200,
    );
  }

  /** Kills every process and removes the folder. Idempotent. */
  async stop(): Promise<void> {
    await Promise.all([...this.sentinels, ...this.dataNodes].map((p) => p.kill()));
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

function call(client: Redis, args: string[]): Promise<unknown> {
  const [command, ...rest] = args;
  return client.call(command, ...rest);
}
