import { readFileSync } from 'node:fs';
import { got } from 'got';
import { LuaFactory, type LuaEngine } from 'wasmoon';
import { z } from 'zod';
import { definePlugin } from '../plugin.js';
import type { Notification } from '../notification.js';

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
  })
  .strict();

/** watched.back's alert levels, as its Lua alerters saw them (globals of the same names). */
export const LUA_LEVELS = { ok: 0, notice: 1, info: 2, warning: 3, error: 4, critical: 5 } as const;

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

const SANDBOX = `
local allow_os = ...
if not allow_os then
  io = nil
  local o = os
  os = { time = o.time, date = o.date, clock = o.clock, difftime = o.difftime }
end
dofile, loadfile, require, package, debug = nil, nil, nil, nil, nil
local post, log, raise = __watched_post, __watched_log, error
__watched_post, __watched_log = nil, nil
watched = {
  post = function(url, body, content_type) return post(url, body, content_type or "application/json"):await() end,
  log = function(msg) log(tostring(msg)) end,
  -- the global "error" becomes a level below, as upstream had it: fail with this
  fail = function(msg) raise(tostring(msg), 0) end,
}
`;

/** Plain data for the VM: nulls dropped (nil in Lua), arrays become sequences. */
function toLua(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_key, v: unknown) => (v === null ? undefined : v))) as unknown;
}

async function run(engine: LuaEngine, code: string, timeoutMs: number, args: unknown[] = []): Promise<unknown[]> {
  const thread = engine.global.newThread();
  const index = engine.global.getTop();
  try {
    thread.loadString(code);
    for (const a of args) thread.pushValue(a);
    return await thread.run(args.length, { timeout: timeoutMs });
  } finally {
    engine.global.remove(index);
  }
}

/**
 * Built-in `lua` plugin: runs a script in an embedded Lua 5.4 VM (wasmoon,
 * WebAssembly), sandboxed: no `io`, only the clock functions of `os`, no
 * `require`/`dofile`/`debug`, unless allowed; every call is time-limited.
 * Like watched.back, the globals ok, notice, info, warning, error and critical
 * hold the levels and the script's `sendAlert(level, message)` is called;
 * it also receives the notification as a table (subject, text, events).
 * An error raised by the script fails the delivery, which is retried.
 */
export const luaPlugin = definePlugin({
  name: 'lua',
  options: luaOptionsSchema,
  async create(options, { receiver, logger }) {
    const source = readFileSync(options.script, 'utf8');
    const engine = await new LuaFactory().createEngine({ openStandardLibs: true, enableProxy: false, injectObjects: false });
    engine.global.set('__watched_post', async (url: string, body: string, contentType: string) => {
      if (!options.allowHttp) throw new Error('watched.post is not allowed (set allowHttp)');
      const response = await got.post(String(url), {
        body: String(body),
        headers: { 'content-type': String(contentType) },
        timeout: { request: options.timeoutMs },
        retry: { limit: 0 },
        followRedirect: false,
        throwHttpErrors: false,
      });
      return response.statusCode;
    });
    engine.global.set('__watched_log', (msg: string) => logger.info(`lua ${receiver}: ${msg}`));
    await run(engine, SANDBOX, options.timeoutMs, [options.allowOs]);
    for (const [name, value] of Object.entries(LUA_LEVELS)) engine.global.set(name, value);
    try {
      await run(engine, source, options.timeoutMs);
    } catch (err) {
      engine.global.close();
      throw new Error(`${options.script}: ${(err as Error).message}`);
    }
    if (typeof engine.global.get('sendAlert') !== 'function') {
      engine.global.close();
      throw new Error(`${options.script} defines no sendAlert(level, message) function`);
    }
    let queue: Promise<unknown> = Promise.resolve();
    return {
      send(notification) {
        const table = toLua({ receiver, subject: notification.subject, text: notification.text, recipients: notification.recipients ?? [], events: notification.events });
        // one call at a time: a Lua state is not re-entrant
        const call = queue.then(() => run(engine, 'return sendAlert(...)', options.timeoutMs, [luaLevel(notification), notification.text, table]));
        queue = call.catch(() => undefined);
        return call.then(() => undefined);
      },
      async close() {
        await queue;
        engine.global.close();
      },
    };
  },
});
