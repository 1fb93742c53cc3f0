/**
 * Lua scripts of the leader lease. Each runs atomically in Redis, which is
 * what makes "set only if free", "extend only if still mine" and "delete
 * only if still mine" safe against a racing replica.
 */

/** KEYS[1] lease, KEYS[2] term counter; ARGV[1] node id, ARGV[2] ttl ms, ARGV[3] term floor. Returns the new term or 0. */
export const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local term = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[3])
if term <= floor then
  term = floor + 1
  redis.call('SET', KEYS[2], term)
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. term, 'PX', ARGV[2])
return term
`;

/** KEYS[1] lease; ARGV[1] expected value, ARGV[2] ttl ms. Returns 1 if extended. */
export const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;

/** KEYS[1] lease; ARGV[1] expected value. Returns 1 if released. */
export const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

/**
 * A write fenced by the lease: KEYS[1] lease, KEYS[2] hash; ARGV[1] expected
 * lease value, ARGV[2] a JSON object field -> string value (any size: no
 * unpack() stack limit). Sets the fields only while the
 * lease is still ours. Returns 1 if written, 0 if the lease is someone else's
 * (or gone).
 */
export const FENCED_HSET = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for field, value in pairs(cjson.decode(ARGV[2])) do redis.call('HSET', KEYS[2], field, value) end
return 1
`;
