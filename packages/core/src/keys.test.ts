import { describe, expect, it } from '@jest/globals';
import { RedisKeys } from './keys.js';

/** The part of a key Redis Cluster hashes (its hash tag rule): the text between the first `{` and the next `}`, if not empty. */
function hashedPart(key: string): string {
  const open = key.indexOf('{');
  const close = open >= 0 ? key.indexOf('}', open + 1) : -1;
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/** Every key and key prefix RedisKeys builds (getters and methods), for a given instance. */
function everyKey(keys: RedisKeys): string[] {
  const names = Object.getOwnPropertyNames(RedisKeys.prototype).filter((n) => n !== 'constructor' && n !== 'hashTagged' && n !== 'leaderTermRecord');
  return names.map((name) => {
    const value = (keys as unknown as Record<string, unknown>)[name];
    // A method takes a member id, or (releasedChannel) the lease key its channel belongs to.
    const arg = name === 'releasedChannel' ? keys.leaderLease : 'node-1/worker';
    return typeof value === 'function' ? String((value as (arg: string) => string).call(keys, arg)) : String(value);
  });
}

describe('Redis keys', () => {
  it('on a cluster, every key hashes on the prefix alone (one slot), BullMQ queue keys included', () => {
    const keys = RedisKeys.of('watched', { mode: 'cluster' });
    const all = everyKey(keys);
    expect(all.length).toBeGreaterThanOrEqual(8);
    for (const key of all) expect(hashedPart(key)).toBe('watched');
    // BullMQ builds `<prefix>:<queue>:<suffix>`: the tag stays first.
    expect(hashedPart(`${keys.bullPrefix}:poll:wait`)).toBe('watched');
    expect(hashedPart(`${keys.releasedChannel(keys.leaderLease)}`)).toBe('watched');
  });

  it('keeps the untagged names elsewhere, and one term record name in every mode', () => {
    const plain = RedisKeys.of('watched', { mode: 'sentinel' });
    expect(plain.leaderLease).toBe('watched:leader');
    expect(plain.bullPrefix).toBe('watched:bull');
    expect(everyKey(plain).every((k) => !k.includes('{'))).toBe(true);
    expect(RedisKeys.of('watched', { mode: 'cluster' }).leaderTermRecord).toBe(plain.leaderTermRecord);
  });
});
