import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import * as packet from 'dns-packet';

/** An SRV answer: the agent's host name and port. */
export interface SrvTarget {
  target: string;
  port: number;
}

/** What the server answers: A/AAAA addresses and SRV targets by name (case-insensitive). Unknown names get NXDOMAIN. */
export interface DnsZone {
  a?: Record<string, string[]>;
  aaaa?: Record<string, string[]>;
  srv?: Record<string, SrvTarget[]>;
}

/**
 * A small authoritative DNS server on a loopback UDP port for tests of DNS
 * discovery: `set()` changes its answers at once (as a cluster's DNS does
 * when pods come and go); `pause()` stops answering (a DNS outage). TTL 0.
 */
export class TestDnsServer {
  private zone: DnsZone = {};
  private paused = false;
  /** Queries answered (tests wait for a re-resolution). */
  queries = 0;

  private constructor(
    private readonly socket: Socket,
    readonly port: number,
  ) {}

  static async start(zone: DnsZone = {}): Promise<TestDnsServer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    const server = new TestDnsServer(socket, socket.address().port);
    server.set(zone);
    socket.on('message', (message, remote) => server.answer(message, remote));
    return server;
  }

  /** `127.0.0.1:PORT`, as `--discovery-dns-server` takes it. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  set(zone: DnsZone): void {
    const lower = <T>(records: Record<string, T> | undefined) => Object.fromEntries(Object.entries(records ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    this.zone = { a: lower(zone.a), aaaa: lower(zone.aaaa), srv: lower(zone.srv) };
  }

  /** Stops answering (queries time out) until `resume()`. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private answer(message: Buffer, remote: RemoteInfo): void {
    if (this.paused) return;
    let query: packet.Packet;
    try {
      query = packet.decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    if (!question) return;
    this.queries += 1;
    const name = question.name.toLowerCase();
    const known = name in (this.zone.a ?? {}) || name in (this.zone.aaaa ?? {}) || name in (this.zone.srv ?? {});
    const answers: packet.Answer[] = [];
    if (question.type === 'A') for (const data of this.zone.a?.[name] ?? []) answers.push({ type: 'A', name: question.name, ttl: 0, data });
    if (question.type === 'AAAA') for (const data of this.zone.aaaa?.[name] ?? []) answers.push({ type: 'AAAA', name: question.name, ttl: 0, data });
    if (question.type === 'SRV') {
      for (const t of this.zone.srv?.[name] ?? []) answers.push({ type: 'SRV', name: question.name, ttl: 0, data: { target: t.target, port: t.port, priority: 10, weight: 10 } });
    }
    const response = packet.encode({
      type: 'response',
      id: query.id,
      flags: packet.AUTHORITATIVE_ANSWER | (known ? 0 : 3), // rcode 3: NXDOMAIN
      questions: [question],
      answers,
    });
    this.socket.send(response, remote.port, remote.address);
  }
}
