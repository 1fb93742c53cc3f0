import { duration } from '../config/option-types.js';

/** Options every long-running role has (flags `--heartbeat-interval`, env `WATCHED_HEARTBEAT_INTERVAL`). */
export const roleOptionsShape = {
  heartbeatInterval: duration('5s').describe('membership heartbeat period (a process missing 3 is gone from watched status)'),
};
