import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import { z } from 'zod';
import { baseOptionsShape } from './config/base-options.js';
import { compileConnectionOptions } from './config/connection-options.js';
import { loadOptions } from './config/load-options.js';
import { redactUrl, redactValue } from './log-redaction.js';
import { createMysqlConnection, createMysqlPool, type RowDataPacket } from './mysql.js';
import { createRedis, type Redis } from './redis.js';
import { Migrator } from './schema/migrator.js';
import { TestPki } from './testing/test-pki.js';
import { ServerUnavailableError, startTlsMariadb, startTlsRedis, type TlsMariadb, type TlsServer } from './testing/tls-servers.js';
import { describeTlsError } from './tls.js';

/**
 * MySQL and Redis over TLS against real servers this test starts on free
 * ports (a second MariaDB with require_secure_transport, a TLS-only
 * redis-server with an ACL user). Passwords come from files, as from a
 * mounted Kubernetes Secret. If the machine cannot run one of the servers,
 * its tests are skipped with the reason logged.
 */
const BaseSchema = z.object(baseOptionsShape);
const PASSWORD = 'p@ss:w/rd;with%odd chars';

let pki: TestPki;
let otherPki: TestPki;
let secrets: string;

beforeAll(async () => {
  pki = await TestPki.create('servers CA');
  otherPki = await TestPki.create('unrelated CA');
  secrets = mkdtempSync(join(tmpdir(), 'watched-secrets-'));
  writeFileSync(join(secrets, 'password'), `${PASSWORD}\n`, { mode: 0o600 });
});
afterAll(() => {
  pki?.cleanup();
  otherPki?.cleanup();
  if (secrets) rmSync(secrets, { recursive: true, force: true });
});

/** Starts a server, or records why this machine cannot (the tests then skip, saying so). */
async function startOrSkip<T>(what: string, start: () => Promise<T>): Promise<{ server?: T; skip?: string }> {
  try {
    return { server: await start() };
  } catch (err) {
    if (!(err instanceof ServerUnavailableError)) throw err;
    const skip = `${what} tests skipped: ${err.message}`;
    console.warn(skip);
    return { skip };
  }
}

describe('MySQL over TLS (second MariaDB, require_secure_transport)', () => {
  let db: TlsMariadb | undefined;
  let skip: string | undefined;
  let port = 0;

  beforeAll(async () => {
    ({ server: db, skip } = await startOrSkip('MySQL TLS', () => startTlsMariadb(pki)));
    if (!db) return;
    port = db.port;
    await db.admin([
      // No REQUIRE SSL: the server-wide require_secure_transport is what refuses plain connections.
      `CREATE USER 'app'@'%' IDENTIFIED BY '${PASSWORD.replace(/'/g, "''")}'`,
      "GRANT ALL ON *.* TO 'app'@'%'",
      "CREATE USER 'certified'@'%' REQUIRE X509",
      "GRANT ALL ON *.* TO 'certified'@'%'",
    ]);
  }, 120_000);
  afterAll(async () => db?.stop(), 30_000);

  it('migrates and pools over verified TLS, the password read from a file', async () => {
    if (skip) return console.warn(skip);
    const options = loadOptions(BaseSchema, {
      flags: { mysqlUrl: `mysql://app@127.0.0.1:${port}/watched_tls`, mysqlPasswordFile: join(secrets, 'password'), mysqlSslCa: pki.ca.certFile },
    });
    const { mysql } = compileConnectionOptions(options);
    expect(redactUrl(options.mysqlUrl)).not.toContain('rd;with');
    expect(JSON.stringify(redactValue(mysql))).not.toContain('rd;with');
    await new Migrator({ mysql }).migrate();
    const pool = createMysqlPool(mysql, { connectionLimit: 2 });
    try {
      const [[tls]] = await pool.query<RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Ssl_version'");
      expect(tls.Value).toMatch(/^TLSv1\.[23]$/);
      const [[applied]] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM `c$schema_migrations`');
      expect(Number(applied.n)).toBeGreaterThan(0);
    } finally {
      await pool.end();
    }
  });

  it('is refused without TLS, and names an unknown CA; ssl-verify=false only encrypts', async () => {
    if (skip) return console.warn(skip);
    const url = `mysql://app:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/`;
    // MariaDB answers a plain connection under require_secure_transport with a bare "Access denied";
    // the same credentials work over TLS below, so the transport is what was refused.
    await expect(createMysqlConnection(url)).rejects.toThrow(/Access denied/);
    const wrongCa = await createMysqlConnection(`${url}?ssl-ca=${encodeURIComponent(otherPki.ca.certFile)}`).then(
      (conn) => conn.end().then(() => undefined),
      (err: unknown) => err,
    );
    expect(describeTlsError(wrongCa)).toBe('certificate signed by unknown authority');
    const unverified = await createMysqlConnection(`${url}?ssl=true&ssl-verify=false`);
    const [[tls]] = await unverified.query<RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Ssl_version'");
    await unverified.end();
    expect(tls.Value).toMatch(/^TLSv1/);
  });

  it('presents a client certificate to a user that REQUIREs X509', async () => {
    if (skip) return console.warn(skip);
    const client = await pki.issue('certified-client');
    const options = loadOptions(BaseSchema, {
      env: {
        WATCHED_MYSQL_URL: `mysql://certified@127.0.0.1:${port}/`,
        WATCHED_MYSQL_SSL_CA: pki.ca.certFile,
        WATCHED_MYSQL_SSL_CERT: client.certFile,
        WATCHED_MYSQL_SSL_KEY: client.keyFile,
      },
    });
    const conn = await createMysqlConnection(compileConnectionOptions(options).mysql);
    const [[who]] = await conn.query<RowDataPacket[]>('SELECT CURRENT_USER() AS u');
    await conn.end();
    expect(who.u).toBe('certified@%');
    await expect(createMysqlConnection(`mysql://certified@127.0.0.1:${port}/?ssl-ca=${encodeURIComponent(pki.ca.certFile)}`)).rejects.toThrow(/Access denied/);
  });
});

describe('Redis over TLS (rediss://, ACL user)', () => {
  let redisServer: TlsServer | undefined;
  let skip: string | undefined;
  const clients: Redis[] = [];

  beforeAll(async () => {
    ({ server: redisServer, skip } = await startOrSkip('Redis TLS', () => startTlsRedis(pki, { user: 'watched', password: PASSWORD })));
  }, 120_000);
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await redisServer?.stop();
  }, 30_000);

  /** The first error a client reports (it would keep reconnecting), then disconnects it. */
  const firstError = (redis: Redis) =>
    new Promise<Error>((resolve) => {
      redis.once('error', (err: Error) => {
        redis.disconnect();
        resolve(err);
      });
    });

  it('runs commands and BullMQ queues as the ACL user, the password from a file', async () => {
    if (skip) return console.warn(skip);
    const options = loadOptions(BaseSchema, {
      flags: { redisUrl: `rediss://watched@127.0.0.1:${redisServer!.port}`, redisPasswordFile: join(secrets, 'password'), redisTlsCa: pki.ca.certFile },
    });
    const connections = compileConnectionOptions(options);
    const redis = createRedis(connections.redis, { connectionName: 'tls-test' });
    clients.push(redis);
    expect(await redis.call('ACL', 'WHOAMI')).toBe('watched');
    const bull = createRedis(connections.redis, { blocking: true });
    clients.push(bull);
    const queue = new Queue('tls-check', { connection: bull, prefix: 'wt-tls' });
    const job = await queue.add('probe', { ok: true });
    expect((await queue.getJob(job.id!))?.data).toEqual({ ok: true });
    await queue.obliterate({ force: true });
    await queue.close();
  });

  it('names an unknown CA and a wrong password', async () => {
    if (skip) return console.warn(skip);
    const base = `rediss://watched:${encodeURIComponent(PASSWORD)}@127.0.0.1:${redisServer!.port}`;
    const wrongCa = createRedis(`${base}?tls-ca=${encodeURIComponent(otherPki.ca.certFile)}`);
    expect(describeTlsError(await firstError(wrongCa))).toBe('certificate signed by unknown authority');
    const wrongPassword = createRedis(`rediss://watched:nope@127.0.0.1:${redisServer!.port}?tls-ca=${encodeURIComponent(pki.ca.certFile)}`);
    expect((await firstError(wrongPassword)).message).toMatch(/WRONGPASS/);
  });

  it('refuses TLS parameters on a plain redis:// URL', () => {
    expect(() => createRedis(`redis://127.0.0.1:6379?tls-ca=${encodeURIComponent(pki.ca.certFile)}`)).toThrow(/redisUrl.*rediss:\/\//);
  });
});
