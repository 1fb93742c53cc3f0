import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { get as httpsGet } from 'node:https';
import { generate } from 'selfsigned';
import { AgentFleet } from './fleet.js';
import { compileFleetOptions, FleetOptionError } from './fleet-options.js';
import type { AllResponse } from './types.js';

/** The fleet serving HTTPS (as agents with use_ssl do), optionally requiring client certificates. */
describe('agent-sim over TLS', () => {
  let pems: Awaited<ReturnType<typeof generate>>;
  const fleets: AgentFleet[] = [];
  beforeAll(async () => {
    const now = Date.now();
    // Self-signed, so it is its own CA; the client certificate is signed by the same key.
    pems = await generate([{ name: 'commonName', value: 'agent-sim' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      notBeforeDate: new Date(now - 86_400_000),
      notAfterDate: new Date(now + 86_400_000),
      clientCertificate: { cn: 'watched-worker' },
      extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'keyUsage', keyCertSign: true, digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
        { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 7, ip: '127.20.0.1' }, { type: 7, ip: '127.20.0.2' }] },
      ],
    });
  });
  afterAll(async () => {
    for (const fleet of fleets) await fleet.close();
  });

  const fetchText = (url: string, client: boolean) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const tls = { ca: pems.cert, ...(client ? { cert: pems.clientcert, key: pems.clientprivate } : {}) };
      httpsGet(url, { ...tls, agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }).on('error', reject);
    });

  it.each(['loopback', 'ports'] as const)('serves each host over mTLS (%s addressing) and refuses clients without a certificate', async (mode) => {
    const fleet = new AgentFleet({
      hosts: 2, mode, port: 0, basePort: 0, bindAddress: mode === 'ports' ? '127.0.0.1' : '0.0.0.0', hostnamePrefix: `tls-${mode}`,
      tls: { cert: pems.cert, key: pems.private, ca: pems.cert, requireClientCert: true },
    });
    fleets.push(fleet);
    await fleet.start();
    expect(fleet.url(1)).toMatch(/^https:\/\//);
    const answer = await fetchText(`${fleet.url(1)}/all`, true);
    expect(answer.status).toBe(200);
    expect(Object.values((JSON.parse(answer.body) as AllResponse).system).length).toBeGreaterThan(0);
    expect(answer.body).toContain(`tls-${mode}-00002`);
    await expect(fetchText(`${fleet.url(0)}/all`, false)).rejects.toThrow(/certificate required|handshake failure|socket hang up|ECONNRESET/i);
  });

  it('refuses incomplete TLS options, naming them', () => {
    expect(() => compileFleetOptions({ tls: { cert: 'not pem', key: pems.private } })).toThrow(FleetOptionError);
    expect(() => compileFleetOptions({ tls: { cert: pems.cert, key: pems.private, requireClientCert: true } })).toThrow(/requireClientCert needs tls\.ca/);
  });
});
