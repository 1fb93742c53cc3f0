import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gzipSync, brotliCompressSync, deflateSync } from 'node:zlib';
import { freePort } from '@watched/core/testing';
import { AgentCallError, AgentClient, type AgentRecord } from './agent-client.js';

/**
 * The agent client (got) against a real server: what the answers decode to
 * and how each failure is named (the e2e hostile-input test covers timeouts,
 * caps on a streamed answer, redirects and TLS through the whole pipeline).
 */
describe('AgentClient', () => {
  let server: Server;
  let agent: AgentRecord;
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end('{}');
  const client = new AgentClient({ agentConnectTimeoutMs: 2000, agentTimeoutMs: 5000, agentMaxResponseBytes: 1024, agentLimits: { maxParsedBytes: 64 * 1024 } });

  beforeAll(async () => {
    server = createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    agent = { id: 1, host: '127.0.0.1', port: (server.address() as { port: number }).port, useSsl: false, pollIntervalS: 60 };
  });
  afterEach(() => {
    handler = (_req, res) => res.end('{}');
  });
  afterAll(async () => {
    client.close();
    await new Promise((resolve) => server.close(resolve));
  });

  const failure = async (call: Promise<unknown>) => {
    try {
      await call;
    } catch (err) {
      expect(err).toBeInstanceOf(AgentCallError);
      return err as AgentCallError;
    }
    throw new Error('expected the call to fail');
  };

  it('decodes gzip, deflate and br answers, and sends the cursor as digits', async () => {
    const body = JSON.stringify({ timestamp: 1795952906640.3435, v: 'ü' });
    const encoders: Record<string, (b: Buffer) => Buffer> = { gzip: gzipSync, deflate: deflateSync, br: brotliCompressSync };
    let url = '';
    for (const [encoding, encode] of Object.entries(encoders)) {
      handler = (req, res) => {
        url = req.url ?? '';
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding }).end(encode(Buffer.from(body)));
      };
      expect(await client.fetchAll(agent, 1795952900000.5)).toEqual(JSON.parse(body));
      expect(url).toBe('/all?since=1795952900000.5');
    }
  });

  it('names each failure: refused, HTTP status (redirects not followed), too large, cut off, not JSON', async () => {
    const closed = { ...agent, port: await freePort() };
    expect((await failure(client.fetchAll(closed, undefined))).reason).toBe('refused');

    handler = (_req, res) => void res.writeHead(302, { location: 'http://127.0.0.1:1/all' }).end();
    expect((await failure(client.fetchAll(agent, undefined))).message).toMatch(/http: \/all answered HTTP 302/);

    handler = (_req, res) => void res.writeHead(200, { 'content-length': 5000 }).end('x'.repeat(5000));
    expect((await failure(client.fetchAll(agent, undefined))).message).toMatch(/too-large: \/all is larger than 1024 bytes/);
    // Small on the wire, past the cap once decoded.
    handler = (_req, res) => void res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(Buffer.from(' '.repeat(100_000))));
    expect((await failure(client.fetchAll(agent, undefined))).reason).toBe('too-large');

    handler = (_req, res) => {
      res.writeHead(200, { 'content-length': 500 });
      res.write('{"timestamp":');
      setTimeout(() => res.destroy(), 20);
    };
    expect((await failure(client.fetchAll(agent, undefined))).reason).toBe('network');

    handler = (_req, res) => void res.writeHead(200, { 'content-encoding': 'gzip' }).end('not gzip at all');
    expect((await failure(client.fetchAll(agent, undefined))).reason).toBe('bad-payload');
    handler = (_req, res) => void res.writeHead(200, { 'content-encoding': 'br' }).end('not brotli at all');
    expect((await failure(client.fetchAll(agent, undefined))).reason).toBe('bad-payload');

    handler = (_req, res) => void res.end('{"timestamp": 1,');
    expect((await failure(client.fetchAll(agent, undefined))).message).toMatch(/bad-payload: \/all is not valid JSON/);
  });

  it('times out a call that outlasts its deadline, and calls no more once it passed', async () => {
    handler = (_req, res) => void res.writeHead(200).write('{"timestamp":');
    const slow = await failure(client.fetchAll(agent, undefined, { deadline: Date.now() + 300 }));
    expect(slow.message).toMatch(/timeout: \/all: Timeout awaiting 'request' for \d+ms/);
    expect((await failure(client.fetchAll(agent, undefined, { deadline: Date.now() - 1 }))).message).toMatch(/deadline passed before the call/);
  });

  it('keeps working on its kept-alive connections after failures', async () => {
    for (let i = 0; i < 10; i++) expect(await client.fetchAll(agent, undefined)).toEqual({});
  });
});
