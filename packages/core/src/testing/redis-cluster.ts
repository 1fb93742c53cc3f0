import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from '../redis.js';
import { RedisProcess } from './redis-process.js';
import { freePort } from './tls-servers.js';
import { waitFor } from './wait-for.js';

/** A key of a cluster node and the slot it hashes to. */
export interface ClusterKey {
  key: string;
  slot: number;
  nodePort: number;
}

/**
 * A private Redis Cluster for fault tests (and the bench): masters with one
 * replica each, every node a redis-server of its own on free loopback ports,
 * without persistence. `cluster-node-timeout 2000` as /work/shared/ha-facts.md
 * measured it (the default 15000 makes a ~21 s gap): a killed master's
 * replica takes over in ~3-4 s.
 */
export class RedisClusterSet {
  readonly nodes: RedisProcess[] = [];
  private dir = '';

  constructor(private readonly masters = 3) {}

  /** `redis+cluster://127.0.0.1:P1,...`: every node as a seed. */
  get url(): string {
    return `redis+cluster://${this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`;
  }

  async start(): Promise<this> {
    this.dir = mkdtempSync(join(tmpdir(), 'watched-cluster-'));
    for (let i = 0; i < this.masters * 2; i++) {
      const port = await freePort();
      const dir = join(this.dir, `node-${port}`);
      this.nodes.push(
        new RedisProcess(port, dir, ['cluster-enabled yes', `cluster-config-file ${join(dir, 'nodes.conf')}`, 'cluster-node-timeout 2000', 'save ""', 'appendonly no', 'repl-diskless-sync yes', 'repl-diskless-sync-delay 0']),
      );
    }
    await Promise.all(this.nodes.map((n) => n.start()));
    await createCluster(this.nodes.map((n) => n.port));
    await this.settled();
    return this;
  }

  node(port: number): RedisProcess {
    const node = this.nodes.find((n) => n.port === port);
    if (!node) throw new Error(`no cluster node on port ${port}`);
    return node;
  }

  /** The slot `key` hashes to (CLUSTER KEYSLOT on a live node). */
  async keySlot(key: string): Promise<number> {
    return Number(await this.anyLive((c) => c.call('CLUSTER', 'KEYSLOT', key)));
  }

  /** The port of the master serving `slot` as a live node sees the cluster now (undefined while none does). */
  async masterOfSlot(slot: number): Promise<number | undefined> {
    const slots = (await this.anyLive((c) => c.call('CLUSTER', 'SLOTS'))) as Array<[number, number, [string, number]]>;
    const range = slots.find(([from, to]) => from <= slot && slot <= to);
    return range ? Number(range[2][1]) : undefined;
  }

  /** Waits until a live master other than `formerPort` serves `slot` and every live node reports cluster_state:ok; returns its port. */
  async promotedFrom(formerPort: number, slot: number, timeoutMs = 30_000): Promise<number> {
    return waitFor(
      `a master other than ${formerPort} for slot ${slot}`,
      async () => {
        const port = await this.masterOfSlot(slot).catch(() => undefined);
        if (port === undefined || port === formerPort || !this.node(port).running) return undefined;
        return (await this.allOk()) ? port : undefined;
      },
      timeoutMs,
      100,
    );
  }

  /** Every key on every live master, with the slot Redis hashes it to. */
  async keys(): Promise<ClusterKey[]> {
    const found: ClusterKey[] = [];
    for (const node of this.nodes.filter((n) => n.running)) {
      await node.with(async (c) => {
        const role = (await c.call('ROLE')) as unknown[];
        if (role[0] !== 'master') return;
        let cursor = '0';
        do {
          const [next, keys] = await c.scan(cursor, 'COUNT', 1000);
          cursor = next;
          for (const key of keys) found.push({ key, slot: Number(await c.call('CLUSTER', 'KEYSLOT', key)), nodePort: node.port });
        } while (cursor !== '0');
      });
    }
    return found;
  }

  /** Every live node reports cluster_state:ok and knows every slot. */
  async settled(timeoutMs = 45_000): Promise<void> {
    await waitFor('the cluster to settle', () => this.allOk(), timeoutMs, 200);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  private async allOk(): Promise<boolean> {
    const states = await Promise.all(
      this.nodes.filter((n) => n.running).map((n) => n.with((c) => c.call('CLUSTER', 'INFO')).then((info) => /cluster_state:ok/.test(String(info)) && /cluster_slots_ok:16384/.test(String(info)), () => false)),
    );
    return states.every(Boolean);
  }

  private async anyLive<T>(use: (client: Redis) => Promise<T>): Promise<T> {
    let last: unknown;
    for (const node of this.nodes.filter((n) => n.running)) {
      try {
        return await node.with(use);
      } catch (err) {
        last = err;
      }
    }
    throw last instanceof Error ? last : new Error('no live cluster node');
  }
}

/** `redis-cli --cluster create` with one replica per master. */
function createCluster(ports: number[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`redis-cli --cluster create failed (${code}): ${output.slice(-1000)}`))));
  });
}
