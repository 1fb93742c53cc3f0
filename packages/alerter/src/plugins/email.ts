import nodemailer from 'nodemailer';
import { z } from 'zod';
import { errorMessage, readSecretFile } from '@watched/core';
import { definePlugin } from '../plugin.js';

const addresses = z.union([z.string().min(3), z.array(z.string().min(3)).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]));

export const emailOptionsSchema = z
  .object({
    /** SMTP server. */
    host: z.string().min(1),
    port: z.coerce.number().int().min(1).max(65535).default(587),
    /** true: TLS from the first byte (port 465); false: plain, upgraded by STARTTLS when offered. */
    secure: z.boolean().default(false),
    /** Refuse to send unless STARTTLS succeeds (secure: false only). Always on when `auth` is set, unless `allowPlaintextAuth`. */
    requireTLS: z.boolean().default(false),
    /**
     * Lets `auth` be sent over a connection that is not encrypted (a relay on
     * the same host or a trusted network only). Off by default: with
     * credentials, a server that offers no STARTTLS is refused before the login.
     */
    allowPlaintextAuth: z.boolean().default(false),
    /** Accept self-signed server certificates (test set-ups only). */
    tlsInsecure: z.boolean().default(false),
    /** SMTP login; the password inline (`pass`) or from a file (`passFile`, e.g. a mounted Secret), not both. */
    auth: z
      .object({ user: z.string(), pass: z.string().optional(), passFile: z.string().min(1).optional() })
      .strict()
      .transform((auth, ctx) => {
        if ((auth.pass === undefined) === (auth.passFile === undefined)) {
          ctx.addIssue({ code: 'custom', path: ['pass'], message: 'give auth.pass or auth.passFile (one of them)' });
          return z.NEVER;
        }
        if (auth.pass !== undefined) return { user: auth.user, pass: auth.pass };
        try {
          return { user: auth.user, pass: readSecretFile(auth.passFile!) };
        } catch (err) {
          ctx.addIssue({ code: 'custom', path: ['passFile'], message: errorMessage(err) });
          return z.NEVER;
        }
      })
      .optional(),
    from: z.string().min(3),
    /** Recipients; optional for the permission receiver, which uses the front's addresses. */
    to: addresses.optional(),
    cc: addresses.optional(),
    subjectPrefix: z.string().default(''),
    /** Connection and greeting timeouts. */
    timeoutMs: z.coerce.number().int().min(100).default(30_000),
  })
  .strict();

/**
 * Whether the connection must be encrypted before anything is sent: always
 * with credentials (so a password never crosses the network in clear, even
 * when a man in the middle strips STARTTLS from the greeting), unless the
 * user allowed plaintext login for a trusted relay.
 */
export function mustUseTls(options: z.output<typeof emailOptionsSchema>): boolean {
  return options.requireTLS || (options.auth !== undefined && !options.allowPlaintextAuth);
}

/** Built-in `email` plugin: one mail per notification (plain text and HTML), via SMTP (nodemailer). */
export const emailPlugin = definePlugin({
  name: 'email',
  options: emailOptionsSchema,
  addressable: true,
  create(options, { receiver }) {
    const transport = nodemailer.createTransport({
      host: options.host,
      port: options.port,
      secure: options.secure,
      requireTLS: !options.secure && mustUseTls(options),
      auth: options.auth,
      tls: options.tlsInsecure ? { rejectUnauthorized: false } : undefined,
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
    });
    return {
      async send(notification) {
        const to = notification.recipients?.length ? notification.recipients : options.to;
        if (!to?.length) throw new Error(`receiver ${receiver}: no recipient (set options.to)`);
        await transport.sendMail({
          from: options.from,
          to,
          cc: notification.recipients?.length ? undefined : options.cc,
          subject: options.subjectPrefix + notification.subject,
          text: notification.text,
          html: notification.html,
          headers: { 'X-Watched-Receiver': receiver, 'X-Watched-Events': String(notification.events.length) },
        });
      },
      async close() {
        transport.close();
      },
    };
  },
});
