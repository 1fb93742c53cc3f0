import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { createLogger } from '@watched/core';
import { parseAlerterOptions, type RawAlerterOptions } from './alerter-options.js';
import { definePlugin } from './plugin.js';
import { Receivers } from './receivers.js';

const logger = createLogger({ level: 'error', silent: true });
const hook = { name: 'hook', plugin: 'webhook', options: { url: 'http://127.0.0.1:9/alerts' } };

describe('Receivers', () => {
  it('creates a sender per receiver with its plugin, checks routes against them and closes them', async () => {
    let closed = 0;
    const counting = definePlugin({
      name: 'counting',
      options: z.object({}),
      create: () => ({ send: async () => undefined, close: async () => void (closed += 1) }),
    });
    const receivers = new Receivers(logger, [counting]);
    await receivers.open(parseAlerterOptions({ alertReceivers: [hook, { name: 'count', plugin: 'counting', options: {} }] }));
    expect(receivers.names).toEqual(['hook', 'count']);
    expect(receivers.get('hook')?.plugin).toBe('webhook');
    expect(receivers.get('count')?.plugin).toBe('counting');
    expect(() => receivers.checkRoutes([{ match: {}, receivers: ['hook', 'count'], continue: false }])).not.toThrow();
    expect(() => receivers.checkRoutes([{ match: {}, receivers: ['pager'], continue: false }], ' (restart)')).toThrow(
      'invalid option alertRoutes: route names unknown receiver pager (restart)',
    );
    await receivers.close();
    expect(closed).toBe(1);
    expect(receivers.names).toEqual([]);
  });

  it("refuses a receiver its plugin's schema refuses, an unknown plugin and a permission receiver that cannot address", async () => {
    await expect(new Receivers(logger).open(parseAlerterOptions({ alertReceivers: [{ ...hook, options: { url: 'ftp://x' } }] }))).rejects.toThrow(
      /alertReceivers: receiver hook \(webhook\): url/,
    );
    await expect(new Receivers(logger).open(parseAlerterOptions({ alertReceivers: [{ name: 'x', plugin: 'sms', options: {} }] }))).rejects.toThrow(
      /alertReceivers: receiver x: unknown plugin sms \(known: email, webhook, lua\)/,
    );
    const receivers = new Receivers(logger);
    await expect(receivers.open(parseAlerterOptions({ alertReceivers: [hook], alertPermissionReceiver: 'hook' }))).rejects.toThrow(
      /alertPermissionReceiver: receiver hook: plugin webhook cannot send to addresses/,
    );
    await receivers.close();
  });
});
