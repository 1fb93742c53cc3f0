import { z } from 'zod';
import { secretOption } from '../config/option-types.js';

/**
 * The admin port of `watched up` and of the coordinator, in Prometheus's
 * exporter range; the other roles default to the next ports (each role's
 * `RoleDefinition.adminPort`), so that several roles run on one host with
 * their defaults. Containers run one role each and all use this port.
 */
export const DEFAULT_ADMIN_PORT = 9464;

/** The default `--admin-listen` of a command whose admin port is `port`: localhost only. */
export function defaultAdminListen(port: number = DEFAULT_ADMIN_PORT): string {
  return `127.0.0.1:${port}`;
}

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
  if (!match || port > 65535) throw new Error(`expected ADDR:PORT (e.g. ${defaultAdminListen()} or [::]:9464), got ${JSON.stringify(value)}`);
  return { host: match[1] ?? match[2], port };
}

/**
 * Options of the admin HTTP server every long-running command starts (flags
 * `--admin-listen`, env `WATCHED_ADMIN_LISTEN`), with that command's default
 * port: the one place a command's admin default is filled (and --help shows it).
 */
export function adminOptionsShapeFor(defaultPort: number) {
  return {
    /** Where /healthz, /readyz and /metrics are served; localhost unless configured (containers set 0.0.0.0:9464). */
    adminListen: z
      .string()
      .default(defaultAdminListen(defaultPort))
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
}

/** The admin options' keys and types (the same for every command; only the default port differs). */
export type AdminOptionsShape = ReturnType<typeof adminOptionsShapeFor>;
export type AdminOptions = z.output<z.ZodObject<AdminOptionsShape>>;
