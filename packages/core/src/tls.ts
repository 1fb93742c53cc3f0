import { readFileSync } from 'node:fs';
import type { SecureVersion } from 'node:tls';
import { ConfigError } from './errors.js';

/** TLS material given as file paths (CA bundle, client certificate and its key), as every option and URL carries it. */
export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

/** The same material read, ready for `tls.connect` (and mysql2 / ioredis, which pass it through). */
export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export const TLS_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const satisfies readonly SecureVersion[];

/**
 * Reads TLS files once, at start-up, so a missing or unreadable file is a
 * configuration error naming its option rather than a failed handshake later.
 * `names` maps each file to the option (or URL parameter) it came from.
 * Never puts file contents in an error: the key is a secret.
 */
export function readTlsFiles(files: TlsFiles, names: Record<keyof TlsFiles, string>): TlsMaterial {
  if (Boolean(files.cert) !== Boolean(files.key)) {
    const missing = files.cert ? 'key' : 'cert';
    throw new ConfigError(names[missing], `a client certificate needs both ${names.cert} and ${names.key}`);
  }
  const read = (which: keyof TlsFiles): Buffer | undefined => {
    const path = files[which];
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(names[which], `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return { ca: read('ca'), cert: read('cert'), key: read('key') };
}

/** OpenSSL / Node codes of a server certificate no configured CA vouches for. */
const UNKNOWN_AUTHORITY = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
]);

/**
 * Names the reason of a failed TLS connection in words an operator can act
 * on, or undefined when `err` is not a TLS failure. Peers answer a refused
 * client certificate with different alerts (TLS 1.2: handshake failure, bad or
 * unknown certificate; TLS 1.3: certificate required), hence the list.
 */
export function describeTlsError(err: unknown): string | undefined {
  const e = err as { code?: string; message?: string; cause?: unknown } | null;
  if (!e || typeof e !== 'object') return undefined;
  const code = e.code ?? '';
  const message = e.message ?? '';
  // mysql2 re-wraps handshake errors (code HANDSHAKE_SSL_ERROR), keeping only OpenSSL's message.
  if (UNKNOWN_AUTHORITY.has(code) || /self[- ]signed certificate|unable to (verify the first|get (local )?issuer) certificate/i.test(message)) {
    return 'certificate signed by unknown authority';
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || /does not match certificate's altnames|Hostname\/IP does not match/i.test(message)) {
    return 'hostname mismatch';
  }
  if (code === 'CERT_HAS_EXPIRED') return 'certificate expired';
  if (code === 'CERT_NOT_YET_VALID') return 'certificate not yet valid';
  if (
    /CERTIFICATE_REQUIRED|ALERT_BAD_CERTIFICATE|ALERT_UNKNOWN_CA|ALERT_HANDSHAKE_FAILURE|ALERT_CERTIFICATE_UNKNOWN|ALERT_ACCESS_DENIED/.test(code) ||
    /alert (certificate required|bad certificate|unknown ca|handshake failure|certificate unknown|access denied)/i.test(message)
  ) {
    return 'client certificate missing or rejected by the peer';
  }
  if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|RECORD_LAYER_FAILURE|HTTP_REQUEST/.test(code) || /wrong version number|packet length too long/i.test(message)) {
    return 'peer does not speak TLS (plain HTTP?)';
  }
  if (/UNSUPPORTED_PROTOCOL|ALERT_PROTOCOL_VERSION|NO_PROTOCOLS_AVAILABLE/.test(code)) return 'TLS version refused (see the minimum TLS version)';
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code === 'EPROTO' || code === 'HANDSHAKE_SSL_ERROR') return `TLS failure (${code}${message ? `: ${message}` : ''})`;
  return e.cause && e.cause !== err ? describeTlsError(e.cause) : undefined;
}
