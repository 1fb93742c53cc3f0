import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { baseOptionsShape } from './base-options.js';
import { compileConnectionOptions } from './connection-options.js';
import { loadOptions } from './load-options.js';
import { envName } from './option-names.js';
import { duration, integer, secretOption } from './option-types.js';

const Schema = z.object({ ...baseOptionsShape, groupSize: integer(50, 1), leaseTtl: duration('10s') });

function configFile(text: string, ext = 'yaml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'watched-config-'));
  const path = join(dir, `watched.${ext}`);
  writeFileSync(path, text);
  return path;
}

describe('loadOptions', () => {
  it('fills every default', () => {
    const options = loadOptions(Schema, {});
    expect(options.mysqlUrl).toBe('mysql://root@127.0.0.1:3306/watched');
    expect(options.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(options.prefix).toBe('watched');
    expect(options.groupSize).toBe(50);
    expect(options.leaseTtl).toBe(10_000);
  });

  it('layers file < env < flags', () => {
    const file = configFile('prefix: from-file\ngroup-size: 7\nlease-ttl: 3s\n');
    const env = { WATCHED_PREFIX: 'from-env', WATCHED_GROUP_SIZE: '9' };
    const fromFile = loadOptions(Schema, { configFile: file });
    expect([fromFile.prefix, fromFile.groupSize, fromFile.leaseTtl]).toEqual(['from-file', 7, 3000]);
    const fromEnv = loadOptions(Schema, { configFile: file, env });
    expect([fromEnv.prefix, fromEnv.groupSize]).toEqual(['from-env', 9]);
    const fromFlags = loadOptions(Schema, { configFile: file, env, flags: { prefix: 'from-flag', groupSize: undefined } });
    expect([fromFlags.prefix, fromFlags.groupSize]).toEqual(['from-flag', 9]);
  });

  it('reads JSON config files', () => {
    const file = configFile('{"mysqlUrl": "mysql://u:p@db:3307/w"}', 'json');
    expect(loadOptions(Schema, { configFile: file }).mysqlUrl).toBe('mysql://u:p@db:3307/w');
  });

  it('names the bad field and where its value came from', () => {
    expect(() => loadOptions(Schema, { env: { WATCHED_GROUP_SIZE: 'many' } })).toThrow(/groupSize.*WATCHED_GROUP_SIZE/);
    expect(() => loadOptions(Schema, { flags: { redisUrl: 'http://x' } })).toThrow(/redisUrl.*redis.*--redis-url/);
    expect(() => loadOptions(Schema, { flags: { leaseTtl: 'soon' } })).toThrow(/leaseTtl.*duration/);
    const error = (() => {
      try {
        loadOptions(Schema, { flags: { prefix: 'a b' } });
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe('prefix');
  });

  it('refuses unknown keys in a config file (typos must not pass silently)', () => {
    const file = configFile('mysql_ulr: mysql://x/y\n');
    expect(() => loadOptions(Schema, { configFile: file })).toThrow(/mysqlUlr.*unknown option/);
  });

  it("skips other roles' options in a shared config file, still refusing typos", () => {
    const file = configFile('groupSize: 9\nalertGroupWindow: 30s\n');
    expect(loadOptions(Schema, { configFile: file, otherRolesKeys: ['alertGroupWindow'] }).groupSize).toBe(9);
    expect(() => loadOptions(Schema, { configFile: file })).toThrow(/alertGroupWindow.*unknown option/);
  });

  it('maps option names to WATCHED_ variables', () => {
    expect(envName('mysqlUrl')).toBe('WATCHED_MYSQL_URL');
    expect(envName('agentMaxResponseBytes')).toBe('WATCHED_AGENT_MAX_RESPONSE_BYTES');
  });

  describe('secrets from files (Kubernetes Secret mounts)', () => {
    const WithToken = z.object({ ...baseOptionsShape, ...secretOption('apiToken', z.string().min(8, 'at least 8 characters').optional()) });
    const dir = mkdtempSync(join(tmpdir(), 'watched-secret-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    let files = 0;
    const secretFile = (text: string) => {
      const path = join(dir, `secret-${++files}`);
      writeFileSync(path, text);
      return path;
    };

    it('reads a *File option into its secret, from a flag, the environment or the config file, without the trailing newline', () => {
      const file = secretFile('s3cret-token\n');
      expect(loadOptions(WithToken, { flags: { apiTokenFile: file } }).apiToken).toBe('s3cret-token');
      expect(loadOptions(WithToken, { env: { WATCHED_API_TOKEN_FILE: file } }).apiToken).toBe('s3cret-token');
      expect(loadOptions(WithToken, { configFile: configFile(`api-token-file: ${file}\n`) }).apiToken).toBe('s3cret-token');
    });

    it('refuses the secret and its file together, an unreadable or empty file, and never quotes the secret', () => {
      const file = secretFile('s3cret-token');
      expect(() => loadOptions(WithToken, { env: { WATCHED_API_TOKEN: 'other-token' }, flags: { apiTokenFile: file } })).toThrow(/apiTokenFile.*not both/);
      expect(() => loadOptions(WithToken, { flags: { apiTokenFile: '/nonexistent/token' } })).toThrow(/apiTokenFile.*ENOENT/);
      expect(() => loadOptions(WithToken, { flags: { apiTokenFile: secretFile('\n') } })).toThrow(/apiTokenFile.*empty/);
      const short = secretFile('short');
      let message = '';
      try {
        loadOptions(WithToken, { flags: { apiTokenFile: short } });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/apiToken: at least 8 characters \(from apiTokenFile /);
      expect(message).not.toMatch(/: short|"short"/);
    });

    it('lays passwords and TLS options over the connection URLs, compiled once', () => {
      const caFile = secretFile('-----BEGIN CERTIFICATE-----\n');
      const options = loadOptions(Schema, {
        flags: {
          mysqlUrl: 'mysql://app@db:3306/watched?ssl-verify=false',
          mysqlPasswordFile: secretFile('p@ss/w:rd%\n'),
          mysqlSslCa: caFile,
          redisUrl: 'rediss://watched@cache:6380',
          redisPassword: 'r3dis',
          redisTlsCa: caFile,
          redisTlsVerify: 'false',
        },
      });
      // The URLs stay as given: nothing is written back into them.
      expect(options.mysqlUrl).toBe('mysql://app@db:3306/watched?ssl-verify=false');
      const { mysql, redis } = compileConnectionOptions(options);
      expect(mysql.password).toBe('p@ss/w:rd%');
      expect(mysql).toMatchObject({ hosts: [{ host: 'db', port: 3306 }], user: 'app', database: 'watched', tls: { verify: false } });
      expect(mysql.tls?.ca?.toString()).toBe(readFileSync(caFile, 'utf8'));
      expect([redis.username, redis.password]).toEqual(['watched', 'r3dis']);
      expect(redis).toMatchObject({ hosts: [{ host: 'cache', port: 6380 }], db: 0, tls: { verify: false } });
      expect(redis.tls?.ca?.toString()).toBe(readFileSync(caFile, 'utf8'));
      expect(loadOptions(Schema, {}).mysqlUrl).toBe('mysql://root@127.0.0.1:3306/watched');
      expect(() => loadOptions(Schema, { env: { WATCHED_MYSQL_SSL_CA: '/nonexistent/ca.pem' } })).toThrow(/mysqlSslCa: cannot read \/nonexistent\/ca\.pem: ENOENT \(given "\/nonexistent\/ca\.pem" by WATCHED_MYSQL_SSL_CA\)/);
    });
  });
});
