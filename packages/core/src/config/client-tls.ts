import { ConfigError } from '../errors.js';
import { stripUndefined } from '../objects.js';
import { readTlsFiles, type TlsFiles, type TlsMaterial } from '../tls.js';
import { parseBoolean } from './option-types.js';

/** TLS of a client connection (MySQL, Redis), its files already read. */
export interface ClientTls extends TlsMaterial {
  /** Check the server's certificate and name; false only encrypts. */
  readonly verify: boolean;
}

/** TLS settings given as options, which win over the URL's parameters; `field` names the option in errors. */
export interface TlsOverrides {
  ca?: { path: string; field: string };
  cert?: { path: string; field: string };
  key?: { path: string; field: string };
  verify?: { value: boolean; field: string };
}

/** The URL query parameters carrying TLS files and verification. */
export interface TlsParams {
  ca: string;
  cert: string;
  key: string;
  verify: string;
}

/** A boolean URL parameter (`extraTrue`: more words meaning true), undefined when absent. */
export function urlFlag(params: URLSearchParams, name: string, field: string, extraTrue: readonly string[] = []): boolean | undefined {
  const value = params.get(name);
  if (value === null) return undefined;
  const flag = extraTrue.includes(value.toLowerCase()) ? true : parseBoolean(value);
  if (flag === undefined) throw new ConfigError(field, `URL parameter ${name} must be true or false`);
  return flag;
}

/** The TLS files to use: each option given wins over its URL parameter. */
export function tlsFiles(params: URLSearchParams, names: TlsParams, overrides: TlsOverrides, field: string): { files: TlsFiles; origins: Record<keyof TlsFiles, string> } {
  const files: TlsFiles = {};
  const origins = { ca: '', cert: '', key: '' };
  for (const which of ['ca', 'cert', 'key'] as const) {
    const option = overrides[which];
    files[which] = option ? option.path : (params.get(names[which]) ?? undefined);
    origins[which] = option ? option.field : `${field} ${names[which]}`;
  }
  return { files, origins };
}

/** Reads the files (errors name the option or URL parameter each came from) into the connection's TLS. */
export function readClientTls(files: ReturnType<typeof tlsFiles>, verify: boolean): ClientTls {
  return { ...stripUndefined(readTlsFiles(files.files, files.origins)), verify };
}
