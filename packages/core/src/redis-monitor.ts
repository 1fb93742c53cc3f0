import type { Redis } from './redis.js';
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
export function monitorRedisClient<C extends Redis>(client: C, tracker: OutageTracker | undefined, name: string): C {
  const id = `${name}#${++clientSequence}`;
  client.on('error', (err: unknown) => tracker?.failure(id, err));
  client.on('ready', () => tracker?.recovered(id));
  // Closed (by us, or given up): its failures no longer keep an outage open.
  client.on('end', () => tracker?.forget(id));
  // A Cluster's duplicate() takes other arguments than a single server's: pass them through as they are.
  const duplicate = (client.duplicate as (...args: unknown[]) => C).bind(client);
  (client as unknown as { duplicate: (...args: unknown[]) => C }).duplicate = (...args: unknown[]) => monitorRedisClient(duplicate(...args), tracker, name);
  return client;
}
