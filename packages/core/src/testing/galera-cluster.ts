import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { killAndWait } from './kill-process.js';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { findBinary, freePort, ServerUnavailableError } from './tls-servers.js';
import { waitFor } from './wait-for.js';

const PROVIDER = '/usr/lib/galera/libgalera_smm.so';
/** Failure detection in ~3 s instead of ~6 s (ha-facts.md). */
const FAST_EVS = 'evs.keepalive_period=PT0.5S; evs.suspect_timeout=PT2S; evs.inactive_timeout=PT3S; evs.inactive_check_period=PT0.5S; evs.join_retrans_period=PT0.3S';
const SYNC_TIMEOUT_MS = 90_000;

/** The SQL user every client of the cluster uses (all privileges, any host). */
export const GALERA_USER = { user: 'watched', password: 'galera-pw' } as const;

interface NodePorts {
  sql: number;
  gcomm: number;
  ist: number;
  sst: number;
}

/** One mariadbd of the cluster. */
export class GaleraNode {
  private child?: ChildProcess;
  readonly dir: string;
  readonly socket: string;
  readonly errorLog: string;
  private readonly defaultsFile: string;

  constructor(
    readonly index: number,
    readonly ports: NodePorts,
    root: string,
    cluster: readonly NodePorts[],
  ) {
    this.dir = join(root, `node${index + 1}`);
    mkdirSync(join(this.dir, 'data'), { recursive: true });
    this.socket = join(this.dir, 'mysqld.sock');
    this.errorLog = join(this.dir, 'error.log');
    this.defaultsFile = join(this.dir, 'my.cnf');
    writeFileSync(
      this.defaultsFile,
      [
        '[mysqld]',
        // rsync SST drops to `nobody`-like permissions: a root-owned datadir fails the join (ha-facts.md).
        'user=mysql',
        `datadir=${join(this.dir, 'data')}`,
        `socket=${this.socket}`,
        `port=${ports.sql}`,
        'bind-address=127.0.0.1',
        `pid-file=${join(this.dir, 'mysqld.pid')}`,
        `log-error=${this.errorLog}`,
        'skip-name-resolve',
        'innodb_buffer_pool_size=64M',
        'binlog_format=ROW',
        'default_storage_engine=InnoDB',
        'innodb_autoinc_lock_mode=2',
        'wsrep_on=ON',
        `wsrep_provider=${PROVIDER}`,
        'wsrep_cluster_name=watched-test',
        `wsrep_node_name=node${index + 1}`,
        'wsrep_node_address=127.0.0.1',
        `wsrep_cluster_address=gcomm://${cluster.map((p) => `127.0.0.1:${p.gcomm}`).join(',')}`,
        `wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:${ports.gcomm}; ist.recv_addr=127.0.0.1:${ports.ist}; gcache.size=128M; ${FAST_EVS}"`,
        `wsrep_sst_receive_address=127.0.0.1:${ports.sst}`,
        'wsrep_sst_method=rsync',
        '',
      ].join('\n'),
    );
    chownTree(this.dir);
  }

  get port(): number {
    return this.ports.sql;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts mariadbd (`extra`: --wsrep-new-cluster, --wsrep_start_position=...); resolves once it was spawned. */
  start(extra: string[] = []): void {
    const mariadbd = findBinary(['mariadbd', 'mysqld']);
    if (!mariadbd) throw new ServerUnavailableError('mariadbd is not installed');
    this.child = spawn(mariadbd, [`--defaults-file=${this.defaultsFile}`, ...extra], { stdio: 'ignore' });
  }

  /** kill -9, as a crash. Resolves when the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    await killAndWait(child);
  }

  /**
   * Starts again after a kill with an incremental state transfer: a crashed
   * node's grastate.dat says seqno -1 (a full SST), so its position is
   * recovered first (`--wsrep-recover`, ha-facts.md).
   */
  restart(): void {
    const mariadbd = findBinary(['mariadbd', 'mysqld']);
    if (!mariadbd) throw new ServerUnavailableError('mariadbd is not installed');
    const recoverLog = join(this.dir, 'recover.log');
    const recover = spawnSync(mariadbd, [`--defaults-file=${this.defaultsFile}`, '--wsrep-recover', `--log-error=${recoverLog}`], { timeout: 60_000 });
    chownTree(this.dir);
    const log = existsSync(recoverLog) ? readFileSync(recoverLog, 'utf8') : '';
    const position = /Recovered position:\s*(\S+:-?\d+)/.exec(log)?.[1];
    if (recover.status !== 0 || !position) throw new Error(`--wsrep-recover of node ${this.index + 1} failed (${recover.status}): ${log.slice(-600)}`);
    this.start([`--wsrep_start_position=${position}`]);
  }

  /** Runs statements as root over the node's socket; returns each one's rows. */
  async admin(sql: string[]): Promise<unknown[]> {
    const conn = await mysql.createConnection({ socketPath: this.socket, user: 'root', connectTimeout: 5_000 });
    conn.on('error', () => undefined);
    try {
      const results: unknown[] = [];
      for (const statement of sql) results.push((await conn.query(statement))[0]);
      return results;
    } finally {
      conn.destroy();
    }
  }

  /** `wsrep_local_state`, `wsrep_ready`, `wsrep_cluster_size`... of the running node; {} when it does not answer. */
  async wsrepStatus(): Promise<Record<string, string>> {
    try {
      const [rows] = (await this.admin(["SHOW GLOBAL STATUS LIKE 'wsrep_%'"])) as Array<Array<{ Variable_name: string; Value: string }>>;
      return Object.fromEntries(rows.map((r) => [r.Variable_name, String(r.Value)]));
    } catch {
      return {};
    }
  }

  /** Waits until the node is a synced, ready member (of a cluster of `size` when given). */
  async waitSynced(size?: number, timeoutMs = SYNC_TIMEOUT_MS): Promise<void> {
    await waitFor(
      `node ${this.index + 1} synced${size ? ` in a cluster of ${size}` : ''}`,
      async () => {
        if (!this.running) throw new Error(`node ${this.index + 1} exited: ${this.logTail()}`);
        const s = await this.wsrepStatus();
        return s.wsrep_local_state === '4' && s.wsrep_ready === 'ON' && (size === undefined || s.wsrep_cluster_size === String(size));
      },
      timeoutMs,
      250,
    );
  }

  logTail(): string {
    return existsSync(this.errorLog) ? readFileSync(this.errorLog, 'utf8').slice(-800) : '';
  }
}

function chownTree(dir: string): void {
  const { uid, gid } = mysqlUser();
  spawnSync('chown', ['-R', `${uid}:${gid}`, dir]);
  chownSync(dir, uid, gid);
}

function mysqlUser(): { uid: number; gid: number } {
  const id = spawnSync('id', ['-u', 'mysql'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'mysql'], { encoding: 'utf8' });
  if (id.status !== 0) throw new ServerUnavailableError('there is no `mysql` system user to run Galera nodes as');
  return { uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * A private 3-node MariaDB Galera cluster on loopback ports of its own, in a
 * temporary folder (ha-facts.md): node 1 bootstrapped, nodes 2 and 3 joined
 * by rsync SST in parallel, fast failure detection; `stop()` kills every
 * node and removes the folder. Throws ServerUnavailableError when this
 * machine cannot run one (no galera-4, no mysql user, no rsync).
 */
export class GaleraCluster {
  private stopped = false;

  private constructor(
    readonly dir: string,
    readonly nodes: readonly GaleraNode[],
  ) {}

  static async start(size = 3): Promise<GaleraCluster> {
    if (!existsSync(PROVIDER)) throw new ServerUnavailableError(`galera-4 is not installed (${PROVIDER})`);
    if (!findBinary(['rsync'])) throw new ServerUnavailableError('rsync is not installed (the SST method)');
    const installDb = findBinary(['mariadb-install-db', 'mysql_install_db']);
    if (!installDb) throw new ServerUnavailableError('mariadb-install-db is not installed');
    mysqlUser();
    const dir = mkdtempSync(join(tmpdir(), 'watched-galera-'));
    chownTree(dir);
    const ports: NodePorts[] = [];
    for (let i = 0; i < size; i++) ports.push({ sql: await freePort(), gcomm: await freePort(), ist: await freePort(), sst: await freePort() });
    const nodes = ports.map((p, i) => new GaleraNode(i, p, dir, ports));
    const cluster = new GaleraCluster(dir, nodes);
    try {
      const install = spawnSync(
        installDb,
        ['--no-defaults', '--user=mysql', `--datadir=${join(nodes[0].dir, 'data')}`, '--auth-root-authentication-method=normal', '--skip-test-db'],
        { encoding: 'utf8', timeout: 120_000 },
      );
      if (install.status !== 0) throw new ServerUnavailableError(`mariadb-install-db failed: ${(install.stderr || install.stdout).slice(-500)}`);
      nodes[0].start(['--wsrep-new-cluster']);
      await nodes[0].waitSynced();
      await nodes[0].admin([
        `CREATE USER '${GALERA_USER.user}'@'%' IDENTIFIED BY '${GALERA_USER.password}'`,
        `GRANT ALL PRIVILEGES ON *.* TO '${GALERA_USER.user}'@'%' WITH GRANT OPTION`,
      ]);
      for (const node of nodes.slice(1)) node.start();
      await Promise.all(nodes.map((node) => node.waitSynced(size)));
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  /** The multi-host URL of every node in order (`mysql://watched:...@n1,n2,n3/DATABASE`). */
  url(database = ''): string {
    return this.urlOf(this.nodes.map((n) => n.port), database);
  }

  /** A URL for the given ports (one node, or a proxy in front), as the cluster's user. */
  urlOf(ports: readonly number[], database = ''): string {
    return `mysql://${GALERA_USER.user}:${GALERA_USER.password}@${ports.map((p) => `127.0.0.1:${p}`).join(',')}/${database}`;
  }

  /** Kills every node and removes the folder. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.nodes.map((n) => n.kill()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
