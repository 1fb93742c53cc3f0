import type { Notification } from '../notification.js';
import type { AlertSender } from '../plugin.js';

/**
 * One plugin call bounded by `timeoutMs`: past it the call counts as failed
 * (and is retried) and the plugin's signal aborts, as it does when `signal`
 * (the job's, on close) aborts first. A plugin ignoring its signal is left
 * behind, not waited for.
 */
export async function sendWithTimeout(sender: AlertSender, notification: Notification, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort(new Error('send timeout'));
      reject(new Error(`plugin took longer than ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    await Promise.race([sender.send(notification, controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}
