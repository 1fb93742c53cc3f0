import { describe, expect, it } from '@jest/globals';
import { schemaLockName } from './mysql.js';

describe('schemaLockName', () => {
  it('names the database: installations sharing a server do not wait for each other', () => {
    expect(schemaLockName('watched', 'd$cpu_usage')).toBe('watched_ddl_watched.d$cpu_usage');
    expect(schemaLockName('other', 'd$cpu_usage')).not.toBe(schemaLockName('watched', 'd$cpu_usage'));
  });

  it('stays within MySQL 64 characters and distinct for long names', () => {
    const a = schemaLockName('t'.repeat(64), `d$${'x'.repeat(48)}`);
    const b = schemaLockName('t'.repeat(64), `d$${'x'.repeat(47)}y`);
    expect(a.length).toBeLessThanOrEqual(64);
    expect(a).not.toBe(b);
  });
});
