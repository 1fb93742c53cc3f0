import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  subject: string;
  /** `X-Watched-Events` header: transitions in the message. */
  events: number;
}

function header(raw: string, name: string): string {
  const head = raw.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, ' ');
  const m = new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head);
  return m ? m[1].trim() : '';
}

export interface SmtpPeerOptions {
  /** Offer AUTH, also over a connection that is not encrypted (as a careless relay would): `logins` records what clients sent. */
  auth?: boolean;
  /** Offer STARTTLS with this certificate. */
  tls?: { cert: string; key: string };
}

/** A real SMTP server on 127.0.0.1 (smtp-server) that keeps what it receives. */
export class SmtpPeer {
  readonly mails: ReceivedMail[] = [];
  /** Credentials clients logged in with, and whether the connection was encrypted then. */
  readonly logins: Array<{ user: string; pass: string; encrypted: boolean }> = [];
  private server?: SMTPServer;
  port = 0;

  constructor(private readonly options: SmtpPeerOptions = {}) {}

  async start(port = 0): Promise<number> {
    const { auth = false, tls } = this.options;
    const server = new SMTPServer({
      authOptional: !auth,
      allowInsecureAuth: auth,
      authMethods: ['PLAIN', 'LOGIN'],
      disabledCommands: [...(tls ? [] : ['STARTTLS']), ...(auth ? [] : ['AUTH'])],
      ...(tls ? { key: tls.key, cert: tls.cert } : {}),
      onAuth: (credentials, session, callback) => {
        this.logins.push({ user: credentials.username ?? '', pass: credentials.password ?? '', encrypted: session.secure });
        callback(null, { user: credentials.username });
      },
      logger: false,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          this.mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            subject: header(raw, 'Subject'),
            events: Number(header(raw, 'X-Watched-Events') || 0),
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = ((server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
    return this.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

