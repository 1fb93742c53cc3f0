import { z } from 'zod';
import { secretOption } from '../config/option-types.js';

/** Default address of the admin server: localhost only, Prometheus's exporter port range. */
export const DEFAULT_ADMIN_LISTEN = '127.0.0.1:9464';

/** Paths served by the admin server (deployment files and their tests read these). */
export const ADMIN_PATHS = {
  /** Process alive: for liveness probes. Never needs the token. */
  health: '/healthz',
  /** Every readiness check passes: for readiness probes. Never needs the token. */
  ready: '/readyz',
  /** Prometheus text exposition. Needs the token when one is set. */
  metrics: '/metrics',
} as const;

const LISTEN = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/;

/** Splits `ADDR:PORT` (IPv6 as `[::]:PORT`); throws on anything else. */
export function parseAdminListen(value: string): { host: string; port: number } {
  const match = LISTEN.exec(value.trim());
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port > 65535) throw new Error(`expected ADDR:PORT (e.g. ${DEFAULT_ADMIN_LISTEN} or [::]:9464), got ${JSON.stringify(value)}`);
  return { host: match[1] ?? match[2], port };
}

/** Options of the admin HTTP server every long-running role starts (flags `--admin-listen`, env `WATCHED_ADMIN_LISTEN`). */
export const adminOptionsShape = {
  /** Where /healthz, /readyz and /metrics are served; localhost unless configured (containers set 0.0.0.0:9464). */
  adminListen: z
    .string()
    .default(DEFAULT_ADMIN_LISTEN)
    .refine((value) => {
      try {
        parseAdminListen(value);
        return true;
      } catch {
        return false;
      }
    }, 'expected ADDR:PORT, e.g. 0.0.0.0:9464 or [::]:9464')
    .describe('ADDR:PORT of the admin server (/healthz, /readyz, /metrics); port 0 picks a free one'),
  /** When set, /metrics (and every path but /healthz and /readyz) needs `Authorization: Bearer <token>`. */
  /** Or `--admin-token-file` (a mounted Secret), so the token is not in the environment. */
  ...secretOption('adminToken', z.string().min(8, 'at least 8 characters').optional().describe('bearer token required by /metrics (probes stay open)')),
};

export const AdminOptionsSchema = z.object(adminOptionsShape);
export type AdminOptions = z.output<typeof AdminOptionsSchema>;
