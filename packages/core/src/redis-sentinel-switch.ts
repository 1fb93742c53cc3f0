import { isIP } from 'node:net';
import { Redis as StandaloneRedis, type RedisOptions } from 'ioredis';

/** What sentinels publish when they promote a replica: `<master-name> <old-ip> <old-port> <new-ip> <new-port>`. */
const SWITCH_CHANNEL = '+switch-master';

/** Which sentinels to listen to, and how to reach them. */
export interface SentinelSwitchSource {
  sentinels: ReadonlyArray<{ host: string; port: number }>;
  masterName: string;
  /** Password, TLS of the sentinels (not the data nodes'). */
  sentinelOptions: RedisOptions;
}

interface Followed {
  /** Connecting when the master switched: it may have been given the old master; checked once ready. */
  recheck: boolean;
}

/**
 * One process's subscription to the sentinels' `+switch-master`, shared by
 * every client of the same sentinels and master name. It replaces ioredis's
 * `failoverDetector`, which has a fatal race: its handler calls the
 * connector's `disconnect()`, and when that lands while the client is
 * inside `connect()` (asking a sentinel, or waiting out "All sentinels are
 * unreachable. Retrying from scratch after 200ms", which a master kill -9
 * makes every fourth attempt) ioredis takes it for a user's disconnect: the
 * client rejects its queued commands with "Connection is closed." and stays
 * in status `end` for good. A BullMQ worker on such a connection takes no
 * job again (and its running job's completion is never written).
 *
 * Here only clients with a live socket are disconnected (to reconnect at
 * once through the sentinels): one connected to another server than the
 * new master (a demoted master still alive in a `SENTINEL FAILOVER`, which
 * would take writes for ~11 s otherwise). A client that is reconnecting asks
 * the sentinels anyway; one inside `connect()` is checked when it is ready.
 * One subscription per sentinel for the whole process, instead of one per
 * sentinel per client with ioredis's detector.
 */
export class SentinelSwitchWatch {
  private readonly clients = new Map<StandaloneRedis, Followed>();
  private subscribers: StandaloneRedis[] = [];
  private latest?: { host: string; port: number };

  constructor(
    private readonly source: SentinelSwitchSource,
    private readonly onIdle: () => void = () => undefined,
  ) {}

  /** Clients followed now. */
  get size(): number {
    return this.clients.size;
  }

  /** Follows `client` until `release`; listens to the sentinels while any client is followed. */
  follow(client: StandaloneRedis): void {
    if (this.clients.has(client)) return;
    this.clients.set(client, { recheck: false });
    if (this.subscribers.length === 0) this.subscribe();
  }

  /** `client` closed: no longer followed; the subscriptions end with the last one (they would keep the process alive). */
  release(client: StandaloneRedis): void {
    if (!this.clients.delete(client) || this.clients.size > 0) return;
    for (const s of this.subscribers) s.disconnect();
    this.subscribers = [];
    this.onIdle();
  }

  /** A followed client became ready: if it was connecting across a switch, it must be on the new master. */
  ready(client: StandaloneRedis): void {
    const state = this.clients.get(client);
    if (!state?.recheck) return;
    state.recheck = false;
    if (!this.onMaster(client)) client.disconnect(true);
  }

  /** Handles one `+switch-master` message (every sentinel sends its own: handling it again is harmless). */
  switched(message: string): void {
    const [name, , , host, port] = message.split(' ');
    if (name !== this.source.masterName || !host || !port) return;
    this.latest = { host, port: Number(port) };
    for (const [client, state] of this.clients) {
      if (client.status === 'ready' || client.status === 'connect') {
        // A live socket to the old master: reconnect now (ioredis asks the sentinels again).
        if (!this.onMaster(client)) client.disconnect(true);
      } else if (client.status === 'connecting') {
        state.recheck = true;
      }
      // reconnecting, close, wait, end: the next connect() asks the sentinels, which know the new master.
    }
  }

  private subscribe(): void {
    this.subscribers = this.source.sentinels.map(({ host, port }) => {
      const subscriber = new StandaloneRedis({
        ...this.source.sentinelOptions,
        host,
        port,
        connectionName: 'watched-sentinel-switch',
        // A sentinel down now is no reason to stop listening to it: the subscription is renewed on reconnect.
        retryStrategy: (times) => Math.min(times * 200, 2000),
        maxRetriesPerRequest: null,
        enableReadyCheck: false,
      });
      subscriber.on('error', () => undefined); // the clients' own errors say when Redis is unreachable
      subscriber.on('message', (channel: string, message: string) => {
        if (channel === SWITCH_CHANNEL) this.switched(message);
      });
      subscriber.subscribe(SWITCH_CHANNEL).catch(() => undefined);
      return subscriber;
    });
  }

  /** Whether `client`'s socket goes to the master the sentinels announced last (true before any switch). */
  private onMaster(client: StandaloneRedis): boolean {
    const latest = this.latest;
    if (!latest) return true;
    const stream = client.stream as { remotePort?: number; remoteAddress?: string } | undefined;
    if (stream?.remotePort !== latest.port) return false;
    // A host name (sentinel resolve-hostnames) cannot be compared with the socket's address: the port must do.
    if (!isIP(latest.host)) return true;
    return stream.remoteAddress === latest.host || stream.remoteAddress === `::ffff:${latest.host}`;
  }
}

const watches = new Map<string, SentinelSwitchWatch>();

/** The process's watch of these sentinels and master name (made on first use, dropped when idle). */
export function sentinelSwitchWatch(source: SentinelSwitchSource): SentinelSwitchWatch {
  const key = JSON.stringify([source.masterName, source.sentinels.map(({ host, port }) => `${host}:${port}`), source.sentinelOptions.password ?? null, !!source.sentinelOptions.tls]);
  let watch = watches.get(key);
  if (!watch) {
    watch = new SentinelSwitchWatch(source, () => watches.delete(key));
    watches.set(key, watch);
  }
  return watch;
}

/**
 * Makes a Sentinel client (and every `duplicate()` of it, BullMQ makes its
 * blocking connections so) follow master switches through `watch`, and
 * never stay closed unless we closed it: ioredis also ends a client on its
 * own when a connect is aborted mid-way (see SentinelSwitchWatch), which
 * would leave it rejecting every command with "Connection is closed."
 * forever. Our closes are `quit()` and `disconnect()` (without reconnect);
 * `connect()` after one (BullMQ reconnects its blocking connection so)
 * makes it followed again.
 */
export function superviseSentinelClient(client: StandaloneRedis, watch: SentinelSwitchWatch): StandaloneRedis {
  let closing = false;
  const quit = client.quit.bind(client);
  const disconnect = client.disconnect.bind(client);
  const connect = client.connect.bind(client);
  const duplicate = client.duplicate.bind(client);
  // Released as soon as we close it, not at its `end`: a client disconnected while it waits to reconnect never emits one.
  const close = () => {
    closing = true;
    watch.release(client);
  };
  Object.assign(client, {
    quit: (...args: Parameters<StandaloneRedis['quit']>) => {
      close();
      return quit(...args);
    },
    disconnect: (reconnect = false) => {
      if (!reconnect) close();
      disconnect(reconnect);
    },
    connect: (...args: Parameters<StandaloneRedis['connect']>) => {
      closing = false;
      watch.follow(client);
      return connect(...args);
    },
    duplicate: (...args: Parameters<StandaloneRedis['duplicate']>) => superviseSentinelClient(duplicate(...args), watch),
  });
  client.on('ready', () => watch.ready(client));
  client.on('end', () => {
    if (closing) return;
    // Not ours (and not reconnected meanwhile): ioredis gave up on its own. Reconnect; its retry strategy paces the attempts.
    if (client.status === 'end') connect().catch(() => undefined);
  });
  watch.follow(client);
  return client;
}
