import type { Redis } from 'ioredis';
import type { OutageTracker } from './outage-tracker.js';

let clientSequence = 0;

/**
 * Gives an ioredis client its error handling, once, at birth: an `error`
 * listener (ioredis prints `[ioredis] Unhandled error event` with the raw
 * error, AUTH password included, when it has none), reporting to the
 * outage tracker of its server when there is one, and the same for every
 * `duplicate()` of it (BullMQ makes its blocking and subscriber
 * connections that way, and a duplicate has no listeners of its own).
 * Commands still fail to their callers; the connection's state is said by
 * the tracker, once per outage.
 */
export function monitorRedisClient(client: Redis, tracker: OutageTracker | undefined, name: string): Redis {
  const id = `${name}#${++clientSequence}`;
  client.on('error', (err: unknown) => tracker?.failure(id, err));
  client.on('ready', () => tracker?.recovered(id));
  // Closed (by us, or given up): its failures no longer keep an outage open.
  client.on('end', () => tracker?.forget(id));
  const duplicate = client.duplicate.bind(client);
  client.duplicate = (override?: Parameters<Redis['duplicate']>[0]) => monitorRedisClient(duplicate(override), tracker, name);
  return client;
}
