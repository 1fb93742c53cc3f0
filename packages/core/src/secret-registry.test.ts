import { describe, expect, it } from '@jest/globals';
import type winston from 'winston';
import { captureLogger } from './testing/log-capture.js';
import { errorRecord } from './error-record.js';
import { SecretRegistry, secrets } from './secret-registry.js';
import { parseOptions } from './config/load-options.js';
import { baseOptionsShape } from './config/base-options.js';
import { z } from 'zod';

function capture(format: 'json' | 'pretty', log: (logger: winston.Logger) => void): string {
  const { logger, text } = captureLogger(format);
  log(logger);
  return text();
}

describe('secret registry', () => {
  it('scrubs a secret in every spelling: as given, URL-encoded, JSON-escaped; longest first', () => {
    const registry = new SecretRegistry();
    registry.add('p@ss/w"rd+1');
    registry.add('p@ss');
    registry.add('ab'); // too short to scrub
    const text = 'auth p@ss/w"rd+1, url p%40ss%2Fw%22rd%2B1, json "p@ss/w\\"rd+1", short p@ss, ab';
    expect(registry.scrub(text)).toBe('auth ***, url ***, json "***", short ***, ab');
  });

  it('takes every secret of compiled options: secret-named keys at any depth and URL passwords, not file paths', () => {
    const registry = new SecretRegistry();
    registry.addFrom({
      mysqlUrl: 'mysql://app:url-pw%21@db/w',
      adminToken: 'token-12345',
      mysqlPasswordFile: '/run/secrets/mysql',
      alertReceivers: [{ name: 'mail', options: { auth: { user: 'u', pass: 'smtp-pw' }, headers: { Authorization: 'Bearer hook-tk' } } }],
    });
    expect(registry.scrub('url-pw! url-pw%21 token-12345 smtp-pw Bearer hook-tk /run/secrets/mysql')).toBe('*** *** *** *** *** /run/secrets/mysql');
  });

  it('is filled when options are parsed, and every log line of either format is scrubbed of it, however a library carried it', () => {
    secrets.clear();
    parseOptions(z.object(baseOptionsShape), { redisUrl: 'redis://:Hunter2-secret@127.0.0.1:6390', mysqlPassword: 'My$ql-Pw' });
    // What ioredis attaches to a failed AUTH: the password as a command argument, nowhere near a "password" key.
    const replyError = Object.assign(new Error('WRONGPASS invalid username-password pair'), { command: { name: 'hello', args: ['3', 'AUTH', 'default', 'Hunter2-secret'] } });
    for (const format of ['json', 'pretty'] as const) {
      const out = capture(format, (logger) => {
        logger.error('redis failed', { err: replyError, args: ['AUTH', 'Hunter2-secret'] });
        logger.error(replyError);
        logger.warn(`mysql said: Access denied using My$ql-Pw and My%24ql-Pw`);
      });
      expect(out).toContain('WRONGPASS');
      expect(out).not.toMatch(/Hunter2-secret|My\$ql-Pw|My%24ql-Pw/);
    }
    secrets.clear();
  });
});

describe('error records', () => {
  it('keep the message and named fields, never the options or commands a library attached', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), {
      code: 'ECONNREFUSED',
      errno: -111,
      syscall: 'connect',
      address: '127.0.0.1',
      port: 6390,
      options: { password: 'x' },
      command: { args: ['AUTH', 'x'] },
    });
    expect(errorRecord(err)).toEqual({ message: 'connect ECONNREFUSED 127.0.0.1:6390', code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: '127.0.0.1', port: 6390 });
    const aggregate = Object.assign(new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:3306'), { code: 'ECONNREFUSED' })], ''), {});
    expect(errorRecord(aggregate)).toMatchObject({ message: 'connect ECONNREFUSED ::1:3306', code: 'ECONNREFUSED' });
    expect(errorRecord('plain text\nover lines')).toEqual({ message: 'plain text over lines' });
  });
});
