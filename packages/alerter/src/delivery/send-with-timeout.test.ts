import { describe, expect, it } from '@jest/globals';
import type { Notification } from '../notification.js';
import { sendWithTimeout } from './send-with-timeout.js';

const notification: Notification = { receiver: 'ops', events: [], subject: 's', text: 't', html: 'h' };

describe('sendWithTimeout', () => {
  it('fails a plugin call past the timeout and aborts the signal it was given', async () => {
    let pluginSignal: AbortSignal | undefined;
    const hanging = { send: (_n: Notification, signal: AbortSignal) => ((pluginSignal = signal), new Promise<void>(() => undefined)) };
    await expect(sendWithTimeout(hanging, notification, 50)).rejects.toThrow(/plugin took longer than 50 ms/);
    expect(pluginSignal?.aborted).toBe(true);
  });

  it('passes the job signal on to the plugin and resolves when the plugin does', async () => {
    const job = new AbortController();
    let pluginSignal: AbortSignal | undefined;
    await sendWithTimeout({ send: async (_n, signal) => void (pluginSignal = signal) }, notification, 1000, job.signal);
    expect(pluginSignal?.aborted).toBe(false);
    const waiting = sendWithTimeout(
      { send: (_n, signal) => new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))) },
      notification,
      1000,
      job.signal,
    );
    job.abort(new Error('closing'));
    await expect(waiting).rejects.toThrow(/aborted/);
  });
});
