import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';

/** A certificate and its key, as PEM text and as files (what options and servers take). */
export interface TestCertificate {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

export interface IssueOptions {
  /** DNS names in the subjectAltName. */
  dns?: string[];
  /** IP addresses in the subjectAltName (an IP host is checked against these). */
  ips?: string[];
}

const DAY_MS = 86_400_000;

/**
 * A throw-away certificate authority for TLS tests: EC P-256 keys (fast to
 * make), certificates valid from yesterday (clock skew) to next week, every
 * file in one temporary folder removed by cleanup().
 */
export class TestPki {
  private constructor(
    readonly dir: string,
    readonly ca: TestCertificate,
  ) {}

  static async create(name = 'watched test CA'): Promise<TestPki> {
    const dir = mkdtempSync(join(tmpdir(), 'watched-pki-'));
    const pems = await generate([{ name: 'commonName', value: name }], {
      keyType: 'ec',
      algorithm: 'sha256',
      ...validity(),
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    });
    return new TestPki(dir, save(dir, 'ca', pems.cert, pems.private));
  }

  /** A certificate signed by this CA, good for both server and client authentication. */
  async issue(commonName: string, options: IssueOptions = {}): Promise<TestCertificate> {
    const altNames = [
      ...(options.dns ?? []).map((value) => ({ type: 2 as const, value })),
      ...(options.ips ?? []).map((ip) => ({ type: 7 as const, ip })),
    ];
    const pems = await generate([{ name: 'commonName', value: commonName }], {
      keyType: 'ec',
      algorithm: 'sha256',
      ...validity(),
      ca: { cert: this.ca.cert, key: this.ca.key },
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyAgreement: true },
        { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
        ...(altNames.length ? [{ name: 'subjectAltName' as const, altNames }] : []),
      ],
    });
    return save(this.dir, commonName.replace(/[^A-Za-z0-9.-]+/g, '_'), pems.cert, pems.private);
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function validity(): { notBeforeDate: Date; notAfterDate: Date } {
  const now = Date.now();
  return { notBeforeDate: new Date(now - DAY_MS), notAfterDate: new Date(now + 7 * DAY_MS) };
}

function save(dir: string, base: string, cert: string, key: string): TestCertificate {
  const certFile = join(dir, `${base}.crt`);
  const keyFile = join(dir, `${base}.key`);
  writeFileSync(certFile, cert);
  writeFileSync(keyFile, key, { mode: 0o600 });
  return { cert, key, certFile, keyFile };
}
