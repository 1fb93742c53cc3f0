import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { definePlugin } from '../plugin.js';
import type { Notification } from '../notification.js';
import { LUA_LEVELS } from './lua-levels.js';
import { LuaSandbox } from './lua-sandbox.js';

export { LUA_LEVELS };

export const luaOptionsSchema = z
  .object({
    /** The script; it defines `sendAlert(level, message, notification)` like watched.back's Lua alerters. */
    script: z.string().min(1),
    /** Longest run of the script's top level and of each `sendAlert` call. */
    timeoutMs: z.coerce.number().int().min(10).default(5000),
    /** Lets the script call `watched.post(url, body, contentType)` (HTTP POST, returns the status code). */
    allowHttp: z.boolean().default(false),
    /** Keeps Lua's `io` and full `os` libraries (inside the WebAssembly VM: its virtual file system only). */
    allowOs: z.boolean().default(false),
    /** Memory the script may allocate in its VM; past it allocations fail (the send fails and is retried). */
    memoryLimitMb: z.coerce.number().int().min(1).max(1024).default(64),
  })
  .strict();


const SEVERITY_LEVEL: Record<string, number> = {
  critical: LUA_LEVELS.critical, error: LUA_LEVELS.error, warning: LUA_LEVELS.warning, notice: LUA_LEVELS.notice, information: LUA_LEVELS.info,
};

/** Level of a message: its worst opened event; only closings = ok. */
export function luaLevel(notification: Notification): number {
  let level: number = LUA_LEVELS.ok;
  for (const e of notification.events) {
    if (e.transition === 'opened') level = Math.max(level, SEVERITY_LEVEL[e.severity.toLowerCase()] ?? LUA_LEVELS.info);
  }
  return level;
}

/** Plain data for the VM: nulls dropped (nil in Lua), arrays become sequences. */
function toLua(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_key, v: unknown) => (v === null ? undefined : v))) as unknown;
}

/**
 * Built-in `lua` plugin: runs a script in an embedded Lua 5.4 VM (wasmoon,
 * WebAssembly) in a thread of its own (LuaSandbox), sandboxed: no `io`, only
 * the clock functions of `os`, no `require`/`dofile`/`debug`, unless allowed;
 * no bytecode; every call is time-limited and the VM's memory capped.
 * Like watched.back, the globals ok, notice, info, warning, error and critical
 * hold the levels and the script's `sendAlert(level, message)` is called;
 * it also receives the notification as a table (subject, text, events).
 * An error raised by the script fails the delivery, which is retried.
 */
export const luaPlugin = definePlugin({
  name: 'lua',
  options: luaOptionsSchema,
  async create(options, { receiver, logger }) {
    const sandbox = await LuaSandbox.open({ ...options, source: readFileSync(options.script, 'utf8') }, logger, receiver);
    return {
      send(notification, signal) {
        const table = toLua({ receiver, subject: notification.subject, text: notification.text, recipients: notification.recipients ?? [], events: notification.events });
        return sandbox.call(luaLevel(notification), notification.text, table, signal);
      },
      close: () => sandbox.close(),
    };
  },
});
