/** Minimal HTTP client for the tests: no pooling, exposes low-level failures. */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  bytes: number;
}

export interface RequestOptions {
  method?: string;
  body?: string;
  timeoutMs?: number;
  /** Stop reading (and destroy) after this many bytes; resolves with what was read. */
  maxBytes?: number;
}

/** Resolves with the full response; rejects with the socket error (code ECONNRESET, 'aborted', 'timeout', ...). */
export function get(url: string, opts: RequestOptions = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: opts.method ?? 'GET', agent: false, headers: { Connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      let done = false;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (opts.maxBytes === undefined) chunks.push(c);
        if (opts.maxBytes !== undefined && bytes >= opts.maxBytes && !done) {
          done = true;
          res.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '', bytes });
        }
      });
      res.on('end', () => {
        if (done) return;
        done = true;
        if (!res.complete) reject(Object.assign(new Error('aborted'), { code: 'ABORTED' }));
        else resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), bytes });
      });
      res.on('error', (err) => {
        if (!done) {
          done = true;
          reject(err);
        }
      });
      res.on('aborted', () => {
        if (!done) {
          done = true;
          reject(Object.assign(new Error('aborted'), { code: 'ABORTED' }));
        }
      });
    });
    req.on('error', reject);
    if (opts.timeoutMs !== undefined) {
      req.setTimeout(opts.timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    }
    req.end(opts.body);
  });
}

export async function getJson<T = unknown>(url: string, opts: RequestOptions = {}): Promise<T> {
  const res = await get(url, opts);
  if (res.status !== 200) throw new Error(`HTTP ${res.status} for ${url}: ${res.body.slice(0, 200)}`);
  return JSON.parse(res.body) as T;
}
