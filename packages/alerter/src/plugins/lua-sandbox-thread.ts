/**
 * The thread a Lua alerter script runs in (started by LuaSandbox). A script
 * can hang inside one C call (a backtracking `string.find`) where no Lua
 * hook fires, so the only real time limit is the parent terminating this
 * thread; memory is capped by wasmoon's allocator (the WebAssembly heap is
 * not V8's, so resourceLimits alone would not bound it).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { got } from 'got';
import { LuaFactory, type LuaEngine } from 'wasmoon';
import { LUA_LEVELS } from './lua-levels.js';
import type { FromSandboxThread, LuaSandboxSettings, ToSandboxThread } from './lua-sandbox.js';


/**
 * Runs first in the VM: takes away what a script must not reach. `load` keeps
 * text chunks only and `string.dump` is gone: precompiled chunks (bytecode)
 * are not verified by Lua and are the classic way out of a sandbox.
 */
const SANDBOX = `
local allow_os = ...
if not allow_os then
  io = nil
  local o = os
  os = { time = o.time, date = o.date, clock = o.clock, difftime = o.difftime }
end
dofile, loadfile, require, package, debug = nil, nil, nil, nil, nil
local raw_load = load
load = function(chunk, name, mode, env) return raw_load(chunk, name, "t", env) end
string.dump = nil
local post, log, raise = __watched_post, __watched_log, error
__watched_post, __watched_log = nil, nil
watched = {
  post = function(url, body, content_type) return post(url, body, content_type or "application/json"):await() end,
  log = function(msg) log(tostring(msg)) end,
  -- the global "error" becomes a level below, as upstream had it: fail with this
  fail = function(msg) raise(tostring(msg), 0) end,
}
`;

const settings = workerData as LuaSandboxSettings;
const port = parentPort!;
const post = (message: FromSandboxThread) => port.postMessage(message);

function describe(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // wasmoon's allocator refused: say which limit, not Lua's bare "not enough memory"
  return /not enough memory/.test(message) ? `${message} (memoryLimitMb ${settings.memoryLimitMb} reached)` : message;
}

async function run(engine: LuaEngine, code: string, name: string, args: unknown[] = []): Promise<void> {
  const thread = engine.global.newThread();
  const index = engine.global.getTop();
  try {
    thread.loadString(code, name);
    for (const a of args) thread.pushValue(a);
    // The hook-based timeout stops Lua loops with a clean error; the parent's timer covers C calls.
    await thread.run(args.length, { timeout: settings.timeoutMs });
  } finally {
    engine.global.remove(index);
  }
}

async function open(): Promise<LuaEngine> {
  const engine = await new LuaFactory().createEngine({ openStandardLibs: true, enableProxy: false, injectObjects: false, traceAllocations: true });
  engine.global.set('__watched_post', async (url: string, body: string, contentType: string) => {
    if (!settings.allowHttp) throw new Error('watched.post is not allowed (set allowHttp)');
    const response = await got.post(String(url), {
      body: String(body),
      headers: { 'content-type': String(contentType) },
      timeout: { request: settings.timeoutMs },
      retry: { limit: 0 },
      followRedirect: false,
      throwHttpErrors: false,
    });
    return response.statusCode;
  });
  engine.global.set('__watched_log', (message: string) => post({ type: 'log', message: String(message).slice(0, 2000) }));
  await run(engine, SANDBOX, '=sandbox', [settings.allowOs]);
  for (const [name, value] of Object.entries(LUA_LEVELS)) engine.global.set(name, value);
  // The limit counts from here: the standard libraries and the sandbox are ours, not the script's.
  engine.global.setMemoryMax(engine.global.getMemoryUsed() + settings.memoryLimitMb * 1024 * 1024);
  post({ type: 'booted' });
  await run(engine, settings.source, `@${settings.script}`);
  if (typeof engine.global.get('sendAlert') !== 'function') throw new Error('defines no sendAlert(level, message) function');
  return engine;
}

async function main(): Promise<void> {
  let engine: LuaEngine;
  try {
    engine = await open();
  } catch (err) {
    post({ type: 'failed', message: describe(err) });
    return;
  }
  post({ type: 'ready' });
  // Calls arrive one at a time (the parent queues them): a Lua state is not re-entrant.
  port.on('message', (message: ToSandboxThread) => {
    run(engine, 'return sendAlert(...)', '=sendAlert', [message.level, message.text, message.table]).then(
      () => post({ type: 'done', id: message.id }),
      (err: unknown) => post({ type: 'error', id: message.id, message: describe(err) }),
    );
  });
}

void main();
