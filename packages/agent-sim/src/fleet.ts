/**
 * AgentFleet: N simulated watched.agent hosts served by one Node process.
 * Hosts cost nothing until asked: data is computed per request from
 * (seed, host, resource, time); only faults are stored per host.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { hostnameOf, isLoopbackAddress, loopbackAddress, loopbackIndex } from './addressing.js';
import { compileFaults, dataFaults, type Fault, type FaultInput } from './faults.js';
import { compileFleetOptions, isLoopbackBind, MAX_LOOPBACK_LISTENERS, type AgentFleetOptions, type CompiledFleetOptions } from './fleet-options.js';
import { HostModel, type RowCounts } from './host-model.js';
import { seedOf } from './random.js';
import {
  createAgentServer, guarded, handleAgentRequest, handleControlRequest, handleUnknownAddress, resetSocket, type AgentAddress, type FleetContext,
} from './server.js';
import { IllegalStateError } from '@watched/core';
import { buildSwagger } from './swagger.js';
import type { AllResponse, Row, ServiceLogs, ServiceStatus, SwaggerDocument } from './types.js';

export type FleetState = 'INITIALIZED' | 'STARTING' | 'RUNNING' | 'CLOSING' | 'CLOSED' | 'FAILED';


/**
 * What host `index` serves, with the fleet's current faults of that host
 * applied (data faults only: transport faults do not change bodies).
 * `nowMs` defaults to the fleet clock.
 */
export interface AgentModel {
  readonly index: number;
  readonly hostname: string;
  /** The fault-free model. */
  readonly host: HostModel;
  /** Exact body of `GET /all` (sinceMs undefined = no `since`). */
  all(sinceMs: number | undefined, nowMs?: number): AllResponse;
  /** Exact body of `GET /api/swagger.json`. */
  swagger(nowMs?: number): SwaggerDocument;
  /** Exact body of a `.../history` path, undefined for an unknown path. */
  history(path: string, sinceMs: number | undefined, nowMs?: number): Row[] | undefined;
  status(serviceId: string): ServiceStatus | undefined;
  logs(serviceId: string, sinceMs: number | undefined, nowMs?: number): ServiceLogs | undefined;
  /** Rows and log entries `all(sinceMs, nowMs)` contains. */
  rowCounts(sinceMs: number | undefined, nowMs?: number): RowCounts;
}

const MODEL_CACHE_SIZE = 4096;
const SOCKET_INDEX = Symbol('agentSimIndex');
type TaggedSocket = Socket & { [SOCKET_INDEX]?: number };
const CONTROL = -1;

export class AgentFleet {
  readonly options: CompiledFleetOptions;
  private readonly seed: number;
  private readonly faultMap = new Map<number, readonly Fault[]>();
  private readonly models = new Map<number, HostModel>();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<{ timer: NodeJS.Timeout; resolve: (ok: boolean) => void }>();
  private readonly netServers: NetServer[] = [];
  private readonly hostPorts: number[] = [];
  private readonly http: Server;
  private readonly ctx: FleetContext;
  private stateValue: FleetState = 'INITIALIZED';
  private boundPort = 0;
  private boundControlPort = 0;
  private closing?: Promise<void>;

  constructor(options: AgentFleetOptions = {}) {
    this.options = compileFleetOptions(options);
    this.seed = seedOf(this.options.seed);
    for (const [key, input] of Object.entries(this.options.faults)) this.setFault(Number(key), input);
    this.ctx = this.makeContext();
    this.http = createAgentServer(this.options.tls, guarded((req, res) => this.dispatch(req, res)));
    this.http.keepAliveTimeout = this.options.keepAliveTimeoutMs;
    this.http.on('connection', (socket: Socket) => this.track(socket));
  }

  get state(): FleetState {
    return this.stateValue;
  }

  /** Number of hosts. */
  get size(): number {
    return this.options.hosts;
  }

  /** loopback: the bound listener port; ports: the control port (after start). */
  get port(): number {
    return this.options.mode === 'loopback' ? this.boundPort : this.boundControlPort;
  }

  /** The bind address. */
  get address(): string {
    return this.options.bindAddress;
  }

  /** `https` when the fleet serves TLS, else `http`. */
  private get scheme(): 'http' | 'https' {
    return this.options.tls ? 'https' : 'http';
  }

  /** Base URL of the control API (`/_sim/...`). */
  get controlUrl(): string {
    if (!this.options.controlApi) throw new IllegalStateError('the control API is off (start the fleet with controlApi: true)');
    const host = this.options.mode === 'loopback' ? '127.0.0.1' : this.options.advertiseHost;
    return `${this.scheme}://${host}:${this.port}`;
  }

  /** The fleet clock. */
  now(): number {
    return this.options.now();
  }

  async start(): Promise<void> {
    if (this.stateValue !== 'INITIALIZED') throw new IllegalStateError(`start() called in state ${this.stateValue}`);
    this.stateValue = 'STARTING';
    try {
      const { mode, bindAddress, hosts, controlApi } = this.options;
      if (mode === 'loopback' && isLoopbackBind(bindAddress) && hosts <= MAX_LOOPBACK_LISTENERS) {
        // A listener per host address, all on one port: bound to loopback for real.
        let port = this.options.port;
        for (let i = 0; i < hosts; i++) port = await listenNet(this.netServer(i), port, loopbackAddress(i));
        if (controlApi) await listenNet(this.netServer(CONTROL), port, '127.0.0.1');
        this.boundPort = port;
      } else if (mode === 'loopback') {
        await listen(this.http, this.options.port, isLoopbackBind(bindAddress) ? '0.0.0.0' : bindAddress);
        this.boundPort = (this.http.address() as { port: number }).port;
      } else {
        if (controlApi) this.boundControlPort = await listenNet(this.netServer(CONTROL), this.options.controlPort, bindAddress);
        for (let i = 0; i < this.options.hosts; i++) {
          const srv = this.netServer(i);
          const wanted = this.options.basePort === 0 ? 0 : this.options.basePort + i;
          this.hostPorts[i] = await listenNet(srv, wanted, this.options.bindAddress);
        }
      }
      this.stateValue = 'RUNNING';
    } catch (err) {
      this.stateValue = 'FAILED';
      await this.shutdown();
      throw err;
    }
  }

  /** Stops listening, destroys every connection (keep-alive, hanging, slow) and cancels timers. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const failed = this.stateValue === 'FAILED';
      this.stateValue = 'CLOSING';
      await this.shutdown();
      this.stateValue = failed ? 'FAILED' : 'CLOSED';
    })();
    return this.closing;
  }

  /** Address of every host. */
  agents(): AgentAddress[] {
    return Array.from({ length: this.options.hosts }, (_, i) => this.agent(i));
  }

  /** Address of host `index`. Ports are known after start() (loopback port 0, basePort 0). */
  agent(index: number): AgentAddress {
    this.checkIndex(index);
    const hostname = hostnameOf(this.options.hostnamePrefix, index);
    if (this.options.mode === 'loopback') {
      return { index, host: loopbackAddress(index), port: this.boundPort || this.options.port, hostname };
    }
    const port = this.hostPorts[index] ?? (this.options.basePort === 0 ? 0 : this.options.basePort + index);
    return { index, host: this.options.advertiseHost, port, hostname };
  }

  /** Base URL of host `index`, e.g. http://127.20.0.1:9080 (https with `tls`). */
  url(index: number): string {
    const a = this.agent(index);
    return `${this.scheme}://${a.host}:${a.port}`;
  }

  /** The fault-free model of host `index` (cached, cheap to rebuild). */
  hostModel(index: number): HostModel {
    this.checkIndex(index);
    let model = this.models.get(index);
    if (!model) {
      if (this.models.size >= MODEL_CACHE_SIZE) this.models.delete(this.models.keys().next().value as number);
      model = new HostModel({
        seed: this.seed,
        index,
        hostname: hostnameOf(this.options.hostnamePrefix, index),
        sampleMs: this.options.sampleMs,
        bufferMs: this.options.bufferMs,
        logIntervalMs: this.options.logIntervalMs,
      });
      this.models.set(index, model);
    }
    return model;
  }

  /** What host `index` serves, with its current faults; see AgentModel. */
  model(index: number): AgentModel {
    const host = this.hostModel(index);
    const swaggerFaults = () => dataFaults(this.faults(index), 'swagger');
    const allFaults = () => dataFaults(this.faults(index), 'all');
    const now = (t?: number): number => t ?? this.now();
    return {
      index,
      hostname: host.hostname,
      host,
      all: (since, t) => host.all(since, now(t), allFaults()),
      swagger: (t) => buildSwagger(host, now(t), swaggerFaults()),
      history: (path, since, t) => host.history(path, since, now(t), allFaults()),
      status: (id) => host.status(id, allFaults()),
      logs: (id, since, t) => host.logs(id, since, now(t), allFaults()),
      rowCounts: (since, t) => host.rowCounts(since, now(t), allFaults()),
    };
  }

  /**
   * Sets (replaces) the faults of host `index`; null or [] clears them.
   * Defaults are filled now (e.g. restart.atMs = now). Returns the stored faults.
   * Throws FaultValidationError on an invalid fault.
   */
  setFault(index: number, fault: FaultInput | readonly FaultInput[] | null): readonly Fault[] {
    this.checkIndex(index);
    const compiled = Object.freeze(compileFaults(fault, {
      nowMs: this.now(),
      firstServiceId: this.hostModel(index).services[0].id,
    }));
    if (compiled.length === 0) this.faultMap.delete(index);
    else this.faultMap.set(index, compiled);
    if (compiled.some((f) => f.kind === 'down' && f.on === 'both')) this.resetHostSockets(index);
    return compiled;
  }

  /** Current faults of host `index` ([] when healthy). */
  faults(index: number): readonly Fault[] {
    return this.faultMap.get(index) ?? [];
  }

  /** Hosts that have faults. */
  faultedHosts(): Map<number, readonly Fault[]> {
    return new Map(this.faultMap);
  }

  clearFaults(): void {
    this.faultMap.clear();
  }

  /** loopback: host index a connection to `localAddress` reaches (undefined: none, i.e. control). */
  indexOfAddress(localAddress: string | undefined): number | undefined {
    return loopbackIndex(localAddress, this.options.hosts);
  }

  // ---------------------------------------------------------------------------

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.options.hosts) {
      throw new RangeError(`host index must be an integer in [0, ${this.options.hosts - 1}], got ${String(index)}`);
    }
  }

  private makeContext(): FleetContext {
    return {
      hosts: this.options.hosts,
      now: () => this.now(),
      hostModel: (i) => this.hostModel(i),
      faults: (i) => this.faults(i),
      setFault: (i, input) => this.setFault(i, input as FaultInput | null), // validated by compileFaults
      clearFaults: () => this.clearFaults(),
      faultedHosts: () => this.faultedHosts(),
      agents: () => this.agents(),
      info: () => ({
        mode: this.options.mode,
        hosts: this.options.hosts,
        seed: this.options.seed,
        port: this.port,
        sampleMs: this.options.sampleMs,
        bufferMs: this.options.bufferMs,
      }),
      sleep: (ms, res) => this.sleep(ms, res),
    };
  }

  private sleep(ms: number, res: ServerResponse): Promise<boolean> {
    if (this.stateValue === 'CLOSING' || this.stateValue === 'CLOSED') return Promise.resolve(false);
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => finish(!res.destroyed), ms),
        resolve: (ok: boolean) => finish(ok),
      };
      const finish = (ok: boolean): void => {
        clearTimeout(entry.timer);
        this.timers.delete(entry);
        res.off('close', onClose);
        resolve(ok);
      };
      const onClose = (): void => finish(false);
      res.on('close', onClose);
      this.timers.add(entry);
    });
  }

  private socketIndex(socket: Socket): number | undefined {
    const tagged = (socket as TaggedSocket)[SOCKET_INDEX];
    if (tagged !== undefined) return tagged === CONTROL ? undefined : tagged;
    // A TLS socket wraps the tagged one: find the host by the port it reached.
    if (this.options.mode === 'ports') {
      const index = this.hostPorts.indexOf(socket.localPort ?? -1);
      return index < 0 ? undefined : index;
    }
    return this.options.mode === 'loopback' ? loopbackIndex(socket.localAddress, this.options.hosts) : undefined;
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const index = this.socketIndex(req.socket);
    if (index === undefined && !this.options.controlApi) return handleUnknownAddress(req, res);
    if (index === undefined) return handleControlRequest(this.ctx, req, res);
    return handleAgentRequest(this.ctx, index, req, res);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    if (this.stateValue === 'CLOSING' || this.stateValue === 'CLOSED') {
      resetSocket(socket);
      return;
    }
    const index = this.socketIndex(socket);
    if (index === undefined && this.options.mode === 'loopback' && !isLoopbackAddress(socket.localAddress)) {
      // A wildcard listener of loopback mode reached from off this host: no simulated host lives there.
      if (!this.options.controlApi || isLoopbackBind(this.options.bindAddress)) resetSocket(socket);
      return;
    }
    if (index !== undefined && this.faults(index).some((f) => f.kind === 'down' && f.on === 'both')) resetSocket(socket);
  }

  private resetHostSockets(index: number): void {
    for (const s of this.sockets) if (this.socketIndex(s) === index) resetSocket(s);
  }

  private netServer(index: number): NetServer {
    const srv = createNetServer({ pauseOnConnect: false }, (socket) => {
      (socket as TaggedSocket)[SOCKET_INDEX] = index;
      this.http.emit('connection', socket);
    });
    srv.on('error', () => undefined);
    this.netServers.push(srv);
    return srv;
  }

  private async shutdown(): Promise<void> {
    for (const t of [...this.timers]) t.resolve(false);
    const closes: Promise<void>[] = this.netServers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    if (this.http.listening) closes.push(new Promise<void>((resolve) => this.http.close(() => resolve())));
    this.http.closeAllConnections?.();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await Promise.all(closes);
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function listenNet(server: NetServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as { port: number }).port);
    });
  });
}

/** Creates and starts a fleet. */
export async function startFleet(options: AgentFleetOptions = {}): Promise<AgentFleet> {
  const fleet = new AgentFleet(options);
  await fleet.start();
  return fleet;
}
