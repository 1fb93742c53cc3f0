import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, freePort, ServerUnavailableError } from './tls-servers.js';
import type { GaleraNode } from './galera-cluster.js';
import { waitFor } from './wait-for.js';

/**
 * haproxy in front of a Galera cluster as one writer (ha-facts.md): `mode
 * tcp`, the first node active and the others `backup`, fast checks, and a
 * one-entry stick table so a recovered node does not become a second writer
 * while connections stay on the backup. haproxy's mysql-check does not see
 * the wsrep state, so each node is checked over HTTP against a small check
 * server here (like clustercheck) answering 200 only for a synced, ready
 * member. Ports from freePort; `stop()` kills haproxy and removes its folder.
 */
export class GaleraHaproxy {
  private stopped = false;

  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly checks: Server[],
    private readonly dir: string,
  ) {}

  static async start(nodes: readonly GaleraNode[]): Promise<GaleraHaproxy> {
    const haproxy = findBinary(['haproxy']);
    if (!haproxy) throw new ServerUnavailableError('haproxy is not installed');
    const checks: Server[] = [];
    const checkPorts: number[] = [];
    for (const node of nodes) {
      const server = createServer((_req, res) => {
        void node.wsrepStatus().then((s) => {
          const synced = s.wsrep_local_state === '4' && s.wsrep_ready === 'ON';
          res.writeHead(synced ? 200 : 503).end(synced ? 'synced\n' : `not synced: ${s.wsrep_local_state_comment ?? 'no answer'}\n`);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      checks.push(server);
      checkPorts.push((server.address() as { port: number }).port);
    }
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'watched-haproxy-'));
    const config = join(dir, 'haproxy.cfg');
    writeFileSync(
      config,
      [
        'global',
        '  maxconn 500',
        'defaults',
        '  mode tcp',
        '  timeout connect 2s',
        '  timeout client 1h',
        '  timeout server 1h',
        '  timeout check 1s',
        'frontend mysql',
        `  bind 127.0.0.1:${port}`,
        '  default_backend galera',
        'backend galera',
        '  option httpchk GET /',
        '  stick-table type integer size 1',
        '  stick on int(1)',
        '  default-server inter 500ms fastinter 250ms fall 2 rise 3 on-marked-down shutdown-sessions',
        ...nodes.map((node, i) => `  server node${i + 1} 127.0.0.1:${node.port} check port ${checkPorts[i]}${i > 0 ? ' backup' : ''}`),
        '',
      ].join('\n'),
    );
    const child = spawn(haproxy, ['-db', '-f', config], { stdio: 'ignore' });
    const proxy = new GaleraHaproxy(port, child, checks, dir);
    try {
      await waitFor(
        'haproxy listening',
        () => {
          if (child.exitCode !== null) throw new Error(`haproxy exited (${child.exitCode})`);
          return new Promise<boolean>((resolve) => {
            const socket = connect(port, '127.0.0.1');
            socket.once('connect', () => {
              socket.destroy();
              resolve(true);
            });
            socket.once('error', () => resolve(false));
            socket.once('close', () => socket.destroy());
          });
        },
        20_000,
        100,
      );
    } catch (err) {
      await proxy.stop();
      throw err;
    }
    return proxy;
  }

  /** Kills haproxy, closes the check servers, removes the folder. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGKILL');
      await exited;
    }
    await Promise.all(this.checks.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
