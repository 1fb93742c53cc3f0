import { adminOptionsShapeFor, boolean, DEFAULT_ADMIN_PORT, duration, integer } from '@watched/core';
import { embeddedOptionsShape } from '../embedded/embedded-options.js';

/** Options of `watched up` itself (the all-in-one process). */
export const upOptionsShape = {
  sim: integer(20, 0, 60_000).describe('simulated hosts started when no real agent is registered (0: never)'),
  simPort: integer(19080, 1, 65535).describe('port of the built-in simulated fleet'),
  simFreq: integer(30, 1, 86_400).describe('poll interval of the simulated agents, seconds'),
  simControl: boolean(false).describe("serve the simulated fleet's unauthenticated fault-injection API on 127.0.0.1:<sim-port>/_sim/"),
  statusInterval: duration('5s').describe('how often the status line is printed'),
  ...embeddedOptionsShape,
};

/** `watched up`'s admin server: the coordinator's port, since `up` is the whole cluster in one process. */
export const upAdminOptionsShape = adminOptionsShapeFor(DEFAULT_ADMIN_PORT);
