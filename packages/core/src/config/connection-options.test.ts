import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { baseOptionsShape } from './base-options.js';
import { compileConnectionOptions } from './connection-options.js';
import { splitConnectionUrl } from './connection-url.js';
import { loadOptions } from './load-options.js';
import { compileMysqlConnection, withDatabase } from './mysql-connection-options.js';
import { compileRedisConnection } from './redis-connection-options.js';

const Schema = z.object(baseOptionsShape);
const dir = mkdtempSync(join(tmpdir(), 'watched-connections-'));
const ca = join(dir, 'ca.pem');
writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('connection options', () => {
  it('splits URLs, host lists and odd passwords included', () => {
    expect(splitConnectionUrl('mysql://u:p%40ss@h1:3306,h2/db?ssl=true', 'mysqlUrl')).toMatchObject({
      scheme: 'mysql',
      username: 'u',
      password: 'p@ss',
      hosts: [{ host: 'h1', port: 3306 }, { host: 'h2' }],
      path: 'db',
    });
    expect(splitConnectionUrl('redis+sentinel://s1:26379,s2:26379/mymaster', 'redisUrl').hosts).toHaveLength(2);
    expect(splitConnectionUrl('mysql://[::1]:3307/', 'mysqlUrl').hosts).toEqual([{ host: '::1', port: 3307 }]);
    expect(() => splitConnectionUrl('mysql://h:99999/db', 'mysqlUrl')).toThrow(/mysqlUrl.*99999/);
  });

  it('fills the defaults of each URL', () => {
    expect(compileMysqlConnection('mysql://127.0.0.1/watched')).toEqual({ hosts: [{ host: '127.0.0.1', port: 3306 }], user: 'root', password: '', database: 'watched' });
    expect(compileRedisConnection('redis://cache/2')).toEqual({ mode: 'standalone', hosts: [{ host: 'cache', port: 6379 }], db: 2 });
    const server = withDatabase(compileMysqlConnection('mysql://app:pw@db:3307/watched'), undefined);
    expect(server).toEqual({ hosts: [{ host: 'db', port: 3307 }], user: 'app', password: 'pw' });
  });

  it('reads a MySQL host list in order (the writer is chosen from it) and refuses a host listed twice', () => {
    const loaded = loadOptions(Schema, { flags: { mysqlUrl: 'mysql://u:p@h1:3306,h2,h3:3307/db' } });
    expect(compileMysqlConnection(loaded.mysqlUrl).hosts).toEqual([
      { host: 'h1', port: 3306 },
      { host: 'h2', port: 3306 },
      { host: 'h3', port: 3307 },
    ]);
    expect(() => compileMysqlConnection('mysql://u@h1:3306,h1/db')).toThrow(/mysqlUrl: the host h1:3306 is listed twice/);
  });

  it('refuses a Redis host list by the option name, at compile time', () => {
    expect(() => compileRedisConnection('redis://a:6379,b:6379')).toThrow(/redisUrl: several hosts/);
    expect(() => compileMysqlConnection('redis://h/db')).toThrow(/mysqlUrl.*mysql:\/\//);
  });

  it('names the option a TLS setting came from, and refuses TLS on plain redis://', () => {
    const base = { redisUrl: 'redis://cache:6379', prefix: 'p' };
    expect(() => compileConnectionOptions({ ...base, mysqlUrl: 'mysql://db/w', mysqlSslCert: ca })).toThrow(/needs both mysqlSslCert and mysqlUrl ssl-key/);
    expect(() => compileConnectionOptions({ ...base, mysqlUrl: 'mysql://db/w?ssl-ca=/nonexistent.pem' })).toThrow(/mysqlUrl ssl-ca: cannot read \/nonexistent\.pem/);
    expect(() => compileConnectionOptions({ ...base, mysqlUrl: 'mysql://db/w', redisTlsCa: ca })).toThrow(/redisTlsCa: needs a rediss:\/\/ redisUrl/);
    expect(() => compileConnectionOptions({ ...base, mysqlUrl: 'mysql://db/w?ssl=maybe' })).toThrow(/mysqlUrl: URL parameter ssl must be true or false/);
    expect(() => compileRedisConnection('redis://cache?family=6')).toThrow(/redisUrl: unknown URL parameter\(s\) family/);
  });

  it('lets the options win over the URL', () => {
    const { mysql, redis } = compileConnectionOptions({
      mysqlUrl: 'mysql://app:old@db/w?ssl=required&ssl-verify=true',
      mysqlPassword: 'new',
      mysqlSslVerify: false,
      redisUrl: 'rediss://cache:6380?tls-verify=no',
      redisTlsVerify: true,
      prefix: 'p',
    });
    expect(mysql).toMatchObject({ password: 'new', tls: { verify: false } });
    expect(redis.tls).toEqual({ verify: true });
  });
});
