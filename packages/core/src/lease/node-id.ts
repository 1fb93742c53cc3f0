import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** A process's identity in leases and membership: `host:pid:random` (pids repeat across containers). */
export function defaultNodeId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}
