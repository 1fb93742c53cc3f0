import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TestPki } from '@watched/core/testing';
import { createLogger } from '@watched/core';
import { sampleNotification } from '../testing/sample-notification.js';
import { SmtpPeer } from '../testing/smtp-peer.js';
import { emailOptionsSchema, emailPlugin } from './email.js';

/**
 * SMTP credentials never cross the network unencrypted: against a real
 * server that would accept a plaintext login, the plugin refuses to log in
 * unless STARTTLS protects the session (or the user allowed plaintext).
 */
const logger = createLogger({ level: 'error', silent: true });
const PASSWORD = 'smtp-pa55-never-in-clear';
let pki: TestPki;
let tls: { cert: string; key: string };

beforeAll(async () => {
  pki = await TestPki.create();
  tls = await pki.issue('localhost', { ips: ['127.0.0.1'], dns: ['localhost'] });
});
afterAll(() => pki.cleanup());

const notification = () => sampleNotification('ops');

async function sendThrough(peer: SmtpPeer, extra: Record<string, unknown>): Promise<void> {
  const options = emailOptionsSchema.parse({
    host: '127.0.0.1', port: peer.port, from: 'watched@example.org', to: 'ops@example.org', timeoutMs: 5000,
    auth: { user: 'watched', pass: PASSWORD }, ...extra,
  });
  const sender = await emailPlugin.create(options, { receiver: 'ops', logger });
  try {
    await sender.send(notification(), new AbortController().signal);
  } finally {
    await sender.close?.();
  }
}

describe('email plugin with credentials', () => {
  const peers: SmtpPeer[] = [];
  async function peer(options: ConstructorParameters<typeof SmtpPeer>[0]): Promise<SmtpPeer> {
    const p = new SmtpPeer(options);
    peers.push(p);
    await p.start();
    return p;
  }
  afterAll(async () => {
    for (const p of peers) await p.stop();
  });

  it('refuses a server without STARTTLS before sending the password, and sends nothing', async () => {
    const plain = await peer({ auth: true });
    await expect(sendThrough(plain, {})).rejects.toThrow(/STARTTLS/i);
    expect(plain.logins).toEqual([]);
    expect(plain.mails).toEqual([]);
  });

  it('logs in and delivers once STARTTLS encrypts the session', async () => {
    const secured = await peer({ auth: true, tls });
    await sendThrough(secured, { tlsInsecure: true });
    expect(secured.logins).toEqual([{ user: 'watched', pass: PASSWORD, encrypted: true }]);
    expect(secured.mails).toHaveLength(1);
  });

  it('sends the password in clear only when allowPlaintextAuth says so (a trusted local relay)', async () => {
    const relay = await peer({ auth: true });
    await sendThrough(relay, { allowPlaintextAuth: true });
    expect(relay.logins).toEqual([{ user: 'watched', pass: PASSWORD, encrypted: false }]);
    expect(relay.mails).toHaveLength(1);
  });
});
