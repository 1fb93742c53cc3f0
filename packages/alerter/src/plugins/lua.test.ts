import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger } from '@watched/core';
import { sampleNotification } from '../testing/sample-notification.js';
import { luaOptionsSchema, luaPlugin } from './lua.js';

const logger = createLogger({ level: 'error', silent: true });
let dir: string;
let server: Server;
let url: string;
const bodies: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'watched-lua-'));
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

const notification = () => sampleNotification('lua');

async function plugin(script: string, extra: Record<string, unknown> = {}) {
  const path = join(dir, `s${Math.random().toString(36).slice(2)}.lua`);
  writeFileSync(path, script);
  return luaPlugin.create(luaOptionsSchema.parse({ script: path, timeoutMs: 300, ...extra }), { receiver: 'lua', logger });
}

describe('lua plugin', () => {
  it("calls sendAlert(level, message, notification) with upstream's levels and the event fields, sandboxed", async () => {
    const sender = await plugin(
      `function sendAlert(level, message, n)
         local e = n.events[1]
         local sandbox = tostring(io == nil) .. "," .. tostring(os.execute == nil) .. "," .. tostring(require == nil)
         watched.post("${url}", table.concat({ level, error, e.host, e.resource, e.property, e.value, e.oper, e.threshold, #n.events, sandbox }, "|"), "text/plain")
       end`,
      { allowHttp: true },
    );
    await sender.send(notification(), new AbortController().signal);
    await sender.close?.();
    expect(bodies.at(-1)).toBe('4|4|db1|diskusage/%2F|pctfree|2.5|<|5|1|true,true,true');
  });

  it('fails the send when the script fails or runs too long (then the alerter retries)', async () => {
    const failing = await plugin('function sendAlert(level, message) watched.fail("smtp relay down") end');
    await expect(failing.send(notification(), new AbortController().signal)).rejects.toThrow(/smtp relay down/);
    await failing.close?.();
    const looping = await plugin('function sendAlert() while true do end end');
    await expect(looping.send(notification(), new AbortController().signal)).rejects.toThrow(/timeout/);
    await looping.close?.();
    const noHttp = await plugin(`function sendAlert() watched.post("${url}", "x") end`);
    await expect(noHttp.send(notification(), new AbortController().signal)).rejects.toThrow(/not allowed/);
    await noHttp.close?.();
  });

  it('refuses bytecode: a precompiled script file, and binary chunks given to load() at run time', async () => {
    await expect(plugin('\x1bLuaT\x00\x19\x93\r\n\x1a\n')).rejects.toThrow(/precompiled Lua chunk \(bytecode\)/);
    const probing = await plugin(
      `function sendAlert()
         if string.dump ~= nil then watched.fail("string.dump is reachable") end
         local f, err = load("\\27LuaT\\0\\25\\147\\r\\n\\26\\n")
         if f ~= nil then watched.fail("binary chunk loaded") end
         watched.fail(err)
       end`,
    );
    await expect(probing.send(notification(), new AbortController().signal)).rejects.toThrow(/attempt to load a binary chunk/);
    await probing.close?.();
  });

  it("caps the script's memory: a huge allocation fails that send, not the process", async () => {
    const before = process.memoryUsage().rss;
    const greedy = await plugin('function sendAlert() local s = string.rep("x", 1e8) watched.fail(#s) end', { memoryLimitMb: 16, timeoutMs: 2000 });
    await expect(greedy.send(notification(), new AbortController().signal)).rejects.toThrow(/not enough memory \(memoryLimitMb 16 reached\)/);
    const hoarding = await plugin('function sendAlert() local t = {} for i = 1, 1e9 do t[i] = ("y"):rep(64) .. i end end', { memoryLimitMb: 16, timeoutMs: 5000 });
    await expect(hoarding.send(notification(), new AbortController().signal)).rejects.toThrow(/memoryLimitMb 16/);
    await greedy.close?.();
    await hoarding.close?.();
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
  });

  it('stops a call stuck inside one C function (no Lua hook fires there) at its timeout, and the next call runs on a fresh VM', async () => {
    const stuck = await plugin(
      `calls = 0
       function sendAlert(level)
         calls = calls + 1
         if level >= 0 and calls == 1 then string.find(string.rep("a", 200), string.rep("a*", 8) .. "b") end
         watched.fail("call " .. calls)
       end`,
    );
    const started = Date.now();
    await expect(stuck.send(notification(), new AbortController().signal)).rejects.toThrow(/ran past timeoutMs \(300 ms\) and was stopped/);
    expect(Date.now() - started).toBeLessThan(5000);
    // the killed VM is replaced: its globals start over, so this is the first call again... which hangs again
    await expect(stuck.send(notification(), new AbortController().signal)).rejects.toThrow(/ran past timeoutMs/);
    await stuck.close?.();
  });

  it('refuses a script without sendAlert at start-up', async () => {
    await expect(plugin('x = 1')).rejects.toThrow(/no sendAlert/);
  });
});
