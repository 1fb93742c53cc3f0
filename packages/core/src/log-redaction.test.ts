import { describe, expect, it } from '@jest/globals';
import type winston from 'winston';
import { captureLogger } from './testing/log-capture.js';
import { redactText, redactUrl, redactValue } from './log-redaction.js';
import type { RoleConnections } from './config/connection-options.js';

const PEM = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----';

/** The lines a process logger (as every role creates it) writes, in the given format. */
function capture(format: 'json' | 'pretty', log: (logger: winston.Logger) => void): string {
  const { logger, text } = captureLogger(format);
  log(logger);
  return text();
}

describe('log redaction', () => {
  it('hides credentials in free text: URLs of any scheme, bearer tokens, key=value, PEM keys', () => {
    expect(redactText('cannot reach mysql://app:hunter2@db:3306/watched')).toBe('cannot reach mysql://app:***@db:3306/watched');
    expect(redactText('rediss://default:p%40ss@cache:6380/0 and redis://:onlypass@x')).toBe('rediss://default:***@cache:6380/0 and redis://:***@x');
    expect(redactText('smtp://mailer:abc@smtp.example.org:587')).toBe('smtp://mailer:***@smtp.example.org:587');
    expect(redactText('Authorization: Bearer eyJhbGciOi.J9.abc')).toBe('Authorization: Bearer ***');
    expect(redactText('password=hunter2 user=app; "token":"abc123", secret: xyz')).toBe('password=*** user=app; "token":"***", secret: ***');
    expect(redactText(`key file:\n${PEM}\nrest`)).toBe('key file:\n-----BEGIN PRIVATE KEY----- ***\nrest');
    expect(redactText('polled 20 agents, 3 failed, https://agent:9080/all?since=1')).toBe('polled 20 agents, 3 failed, https://agent:9080/all?since=1');
    expect(redactUrl('mysql://app:hunter2@db/watched')).toBe('mysql://app:***@db/watched');
  });

  it('hides secret-named fields at any depth without touching the caller\u2019s objects', () => {
    const meta = { agent: 'web1:9080', options: { mysqlUrl: 'mysql://a:b@h/d', adminToken: 'tok-123456', nested: [{ password: 'x', count: 3 }] } };
    const redacted = redactValue(meta) as typeof meta;
    expect(redacted).toEqual({ agent: 'web1:9080', options: { mysqlUrl: 'mysql://a:***@h/d', adminToken: '***', nested: [{ password: '***', count: 3 }] } });
    expect(meta.options.adminToken).toBe('tok-123456');
    const cyclic: Record<string, unknown> = { token: 'abc' };
    cyclic.self = cyclic;
    expect((redactValue(cyclic) as Record<string, unknown>).token).toBe('***');
  });

  it.each(['json', 'pretty'] as const)('applies to every line of a process logger (%s): message, metadata, errors', (format) => {
    const out = capture(format, (logger) => {
      logger.info('connected to redis://watched:s3cr3t-pw@cache:6379', { redisPassword: 's3cr3t-pw', agent: 'db1:9080' });
      logger.child({ role: 'worker' }).warn('agent failed', { url: 'https://u:s3cr3t-pw@agent/all', headers: { authorization: 'Bearer s3cr3t-pw' } });
      logger.error('start-up failed', new Error('Access denied, url mysql://root:s3cr3t-pw@db/watched'));
      logger.debug(`loaded key ${PEM}`);
    });
    for (const message of ['connected to', 'agent failed', 'start-up failed', 'loaded key']) expect(out).toContain(message);
    expect(out).not.toContain('s3cr3t-pw');
    expect(out).not.toContain('MIGHAgEAMBMG');
    expect(out).toContain('redis://watched:***@cache:6379');
    expect(out).toContain('db1:9080');
  });

  it('hides the secrets of compiled connections logged whole: passwords and the client key', () => {
    const key = Buffer.from(PEM);
    const connections: RoleConnections = {
      mysql: { hosts: [{ host: 'db', port: 3306 }], user: 'app', password: 's3cr3t-pw', database: 'watched', tls: { verify: true, key, cert: Buffer.from('CERT') } },
      redis: { mode: 'sentinel', hosts: [{ host: 'cache', port: 26380 }], masterName: 'm', sentinelPassword: 's3cr3t-pw', username: 'watched', password: 's3cr3t-pw', db: 0, tls: { verify: false, key } },
      prefix: 'watched',
    };
    const out = capture('json', (logger) => logger.info('connections', { connections }));
    expect(out).not.toContain('s3cr3t-pw');
    expect(out).not.toContain('MIGHAgEAMBMG');
    expect(out).not.toContain(key.toString('base64').slice(0, 20));
    expect(out).toContain('"user":"app"');
    expect(connections.mysql.password).toBe('s3cr3t-pw');
  });
});
