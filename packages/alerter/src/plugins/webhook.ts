import { createHmac } from 'node:crypto';
import { got } from 'got';
import { z } from 'zod';
import { definePlugin } from '../plugin.js';
import type { Notification } from '../notification.js';

export const webhookOptionsSchema = z
  .object({
    url: z.url({ protocol: /^https?$/ }),
    /** Extra request headers (e.g. Authorization). */
    headers: z.record(z.string(), z.string()).default({}),
    /** When set, `X-Watched-Signature: sha256=<hex HMAC-SHA256 of the body>`. */
    secret: z.string().min(1).optional(),
    timeoutMs: z.coerce.number().int().min(100).default(10_000),
  })
  .strict();

/** The JSON body a webhook receives. */
export interface WebhookBody {
  receiver: string;
  subject: string;
  text: string;
  events: Notification['events'];
}

export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Built-in `webhook` plugin: POSTs the notification as JSON (got); any non-2xx answer is retried. */
export const webhookPlugin = definePlugin({
  name: 'webhook',
  options: webhookOptionsSchema,
  create(options, { receiver }) {
    return {
      async send(notification, signal) {
        const payload: WebhookBody = { receiver, subject: notification.subject, text: notification.text, events: notification.events };
        const body = JSON.stringify(payload);
        const headers: Record<string, string> = { ...options.headers, 'content-type': 'application/json', 'user-agent': 'watched-alerter' };
        if (options.secret) headers['x-watched-signature'] = webhookSignature(options.secret, body);
        await got.post(options.url, {
          body,
          headers,
          timeout: { request: options.timeoutMs },
          retry: { limit: 0 }, // the alerter's queue retries, with backoff and a record
          followRedirect: false,
          signal,
        });
      },
    };
  },
});
