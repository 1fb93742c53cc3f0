import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { baseOptionsShape } from './base-options.js';
import { compileConnectionOptions } from './connection-options.js';
import { loadOptions } from './load-options.js';
import { compileRedisConnection, describeRedisTarget } from './redis-connection-options.js';

const Schema = z.object(baseOptionsShape);

describe('Redis URL forms', () => {
  it('reads a Sentinel URL: the sentinels, the master name, the data nodes\' credentials', () => {
    const target = compileRedisConnection('redis+sentinel://app:p%40ss@s1:26379,s2,[::1]:26380/mymaster');
    expect(target).toEqual({
      mode: 'sentinel',
      hosts: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      masterName: 'mymaster',
      username: 'app',
      password: 'p@ss',
      db: 0,
    });
    expect(describeRedisTarget(target)).toBe('sentinels s1:26379,s2:26379,::1:26380 master mymaster');
  });

  it('reads a Cluster URL: the seed nodes, database 0', () => {
    expect(compileRedisConnection('redis+cluster://:pw@n1:7000,n2:7001,n3')).toEqual({
      mode: 'cluster',
      hosts: [
        { host: 'n1', port: 7000 },
        { host: 'n2', port: 7001 },
        { host: 'n3', port: 6379 },
      ],
      password: 'pw',
      db: 0,
    });
  });

  it('refuses what each form cannot mean, naming the option', () => {
    expect(() => compileRedisConnection('redis+sentinel://s1:26379,s2:26379')).toThrow(/redisUrl: a redis\+sentinel:\/\/ URL ends with the master's name/);
    expect(() => compileRedisConnection('redis+cluster://n1,n2/3')).toThrow(/redisUrl: a Redis Cluster has only database 0/);
    expect(() => compileRedisConnection('redis://a:6379,b:6379')).toThrow(/redisUrl: several hosts \(a, b\) need redis\+sentinel/);
    expect(() => compileRedisConnection('redis+cluster://n1,:7001')).toThrow(/redisUrl: a cluster URL needs every host/);
    expect(() => compileRedisConnection('redis+sentinel://s1/m?tls-ca=/x.pem')).toThrow(/redisUrl: tls-ca need a rediss\+sentinel:\/\/ URL/);
    expect(() => compileRedisConnection('redis+shard://n1')).toThrow(/redisUrl: expected a redis:\/\/ or .*redis\+cluster:\/\//);
  });

  it('takes the sentinels\' own password from its option (or its file option), only with a Sentinel URL', () => {
    const base = { mysqlUrl: 'mysql://db/w', prefix: 'p' };
    const { redis } = compileConnectionOptions({ ...base, redisUrl: 'redis+sentinel://:data@s1/m', redisSentinelPassword: 'sentinels' });
    expect(redis).toMatchObject({ password: 'data', sentinelPassword: 'sentinels' });
    expect(() => compileConnectionOptions({ ...base, redisUrl: 'redis://c', redisSentinelPassword: 'x' })).toThrow(/redisSentinelPassword: needs a redis\+sentinel:\/\/ redisUrl/);
  });

  it('accepts host lists at load time for Sentinel and Cluster URLs only', () => {
    expect(loadOptions(Schema, { flags: { redisUrl: 'redis+sentinel://s1:26379,s2:26379/m' } }).redisUrl).toBe('redis+sentinel://s1:26379,s2:26379/m');
    expect(loadOptions(Schema, { flags: { redisUrl: 'rediss+cluster://n1:7000,n2:7000' } }).redisUrl).toBe('rediss+cluster://n1:7000,n2:7000');
    expect(() => loadOptions(Schema, { flags: { redisUrl: 'redis://a,b' } })).toThrow(/redisUrl: several hosts/);
  });
});
