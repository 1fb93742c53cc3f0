import { z } from 'zod';
import { alertLogLevelOption, ConfigError, duration, integer, parseOptions, roleOptionsShape } from '@watched/core';

/** A value that may arrive as JSON text (environment, flags) or as structured YAML/JSON (config file). */
function structured<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value; // the schema reports it with the option's name
    }
  }, schema);
}

/** Receiver names (config) never contain ':' (reserved for permission receivers, `perm:<address>`). */
export const RECEIVER_NAME = /^[A-Za-z0-9_.@-]{1,100}$/;

export const receiverSchema = z.object({
  name: z.string().regex(RECEIVER_NAME, 'letters, digits, _ . @ - only (1-100)'),
  /** A built-in plugin (`email`, `webhook`) or the `name` of a plugin module listed in alertPlugins. */
  plugin: z.string().min(1),
  /** Validated at start-up by the plugin's own schema. */
  options: z.record(z.string(), z.unknown()).default({}),
});
export type ReceiverConfig = z.output<typeof receiverSchema>;

/** One glob (`*` = any characters) or a list of them; case-insensitive. */
const patterns = z.union([z.string(), z.array(z.string())]).transform((v) => (Array.isArray(v) ? v : [v]));

export const routeMatchSchema = z
  .object({
    host: patterns.optional(),
    service: patterns.optional(),
    serviceType: patterns.optional(),
    resourceType: patterns.optional(),
    /** c$event_types name: Critical, Error, Warning, Notice, Information. */
    severity: patterns.optional(),
    kind: patterns.optional(),
    transition: patterns.optional(),
  })
  .strict();

export const routeSchema = z
  .object({
    /** Every given field must match (absent = any). An empty match takes every event. */
    match: routeMatchSchema.default({}),
    receivers: z.array(z.string()).min(1),
    /** Keep looking at the next routes after this one matched (default: stop). */
    continue: z.boolean().default(false),
  })
  .strict();
export type RouteConfig = z.output<typeof routeSchema>;

const pathList = z.preprocess(
  (value) => (typeof value === 'string' && !value.trim().startsWith('[') ? value.split(',').map((s) => s.trim()).filter(Boolean) : value),
  structured(z.array(z.string().min(1))),
);

/** Options of the alerter role (flags `--alert-group-window`, env `WATCHED_ALERT_GROUP_WINDOW`, ...). */
export const alerterOptionsShape = {
  ...roleOptionsShape,
  /** Named receivers: a plugin and its options (validated at start-up). */
  alertReceivers: structured(z.array(receiverSchema))
    .default([])
    .describe('receivers, a JSON/YAML list of {name, plugin, options} (see docs/alerting.md)'),
  /** Routing rules, tried in order; the first that matches decides unless it says `continue: true`. */
  alertRoutes: structured(z.array(routeSchema))
    .default([])
    .describe('routes, a JSON/YAML list of {match: {host, service, serviceType, resourceType, severity, kind}, receivers, continue}'),
  /** Module paths (or package names) of extra plugins; each exports a plugin as default or `plugin`. */
  alertPlugins: pathList.default([]).describe('plugin modules to load (paths or packages, comma-separated or a list)'),
  /**
   * An email-like receiver used as the template for addresses from upstream's
   * permission model (`p$alert_hosts` / `p$alert_services` with the `email`
   * property): each address gets its own message. Unset: the views are not read.
   */
  alertPermissionReceiver: z
    .string()
    .regex(RECEIVER_NAME)
    .optional()
    .describe("receiver whose plugin sends to the front's alert addresses (p$alert_hosts/p$alert_services); unset = off"),
  alertGroupWindow: duration('30s').describe('events for one receiver within this window are sent as one message'),
  /** A still-open event of a repeated severity is notified again this long after its last message. 0 = never. */
  alertRepeatInterval: duration('0', { zeroMeans: 'never' }).describe('re-notify still-open events of the repeat severities this often (0 = never, e.g. 4h)'),
  alertRepeatSeverities: z
    .preprocess(
      (v) => (typeof v === 'string' && !v.trim().startsWith('[') ? v.split(',').map((s) => s.trim()).filter(Boolean) : v),
      // c$event_types' names: anything else would silently never match.
      structured(z.array(z.enum(['Critical', 'Error', 'Warning', 'Notice', 'Information']))),
    )
    .default(['Critical'])
    .describe('severities that get reminders (comma-separated or a list)'),
  alertConcurrency: integer(4, 1, 256).describe('alert jobs processed at once by one alerter'),
  /** Attempts of one delivery before it is kept as failed (exponential backoff from --alert-backoff). */
  alertAttempts: integer(12, 1, 1000).describe('attempts of a delivery before it is kept as failed'),
  /** First retry delay of a failed delivery, doubled at each attempt (12 attempts from 5s: about 3 h in all). */
  alertBackoff: duration('5s').describe('first retry delay of a failed delivery, doubled each attempt'),
  /** A plugin call taking longer than this counts as failed (and is retried). */
  alertSendTimeout: duration('60s').describe('longest a plugin may take to send one message'),
  /**
   * How often the event tables are compared with the ledger, to publish again
   * transitions whose publish was lost (Redis down right after a poll committed). 0 = never.
   */
  alertReconcileInterval: duration('1m', { zeroMeans: 'never' }).describe('how often transitions missing from the alert ledger are looked for (0 = never)'),
  /** Log lines of this severity or worse are alerts (published by the worker; the reconciliation looks for lost ones). */
  alertLogLevel: alertLogLevelOption,
  alertReconcileLookback: duration('1h').describe('how far back (event time) missing transitions are looked for'),
  /** How long finished jobs (so their ids, which dedup) are kept in Redis. */
  alertJobRetention: duration('1d').describe('how long completed alert jobs are kept'),
  /**
   * How long the MySQL ledger keeps transitions that owe nothing any more
   * (delivered, silenced, unrouted); owed and given-up rows stay. 0 = forever.
   * Longer than the reconciliation lookback, or a purged transition would be sent again.
   */
  alertLedgerRetention: duration('30d', { zeroMeans: 'forever' }).describe('how long delivered transitions stay in c$alert_events/c$alert_deliveries (0 = forever)'),
  /** How long failed jobs stay visible in Redis (`watched status`); the MySQL rows stay anyway. */
  alertFailedRetention: duration('7d').describe('how long failed alert jobs stay visible'),
};

export const AlerterOptionsSchema = z.object(alerterOptionsShape);

/** The alerter's options as given in code or a config file (`'30s'`, `'Error'`...); absent keys take their default. */
export type RawAlerterOptions = Partial<z.input<typeof AlerterOptionsSchema>>;

/** What the option loader yields for the alerter's keys: defaults filled, durations in ms, under the flags' names. */
export type LoadedAlerterOptions = z.output<typeof AlerterOptionsSchema>;

/**
 * The alerter's options once compiled: every value filled, durations in
 * milliseconds and named so, cross-field rules checked. The only options
 * type the alerter reads.
 */
export interface AlerterOptions {
  alertReceivers: ReceiverConfig[];
  alertRoutes: RouteConfig[];
  alertPlugins: string[];
  /** Unset: upstream's permission views are not read. */
  alertPermissionReceiver?: string;
  alertGroupWindowMs: number;
  /** 0 = no reminders. */
  alertRepeatIntervalMs: number;
  alertRepeatSeverities: string[];
  alertConcurrency: number;
  alertAttempts: number;
  alertBackoffMs: number;
  alertSendTimeoutMs: number;
  /** 0 = no reconciliation. */
  alertReconcileIntervalMs: number;
  /** `c$event_types` id, 0 = off. */
  alertLogLevel: number;
  alertReconcileLookbackMs: number;
  alertJobRetentionMs: number;
  /** 0 = the ledger is kept forever. */
  alertLedgerRetentionMs: number;
  alertFailedRetentionMs: number;
  /** Membership heartbeat period. */
  heartbeatIntervalMs: number;
}

/** Transitions younger than this are left to the normal path by the reconciliation. */
export const RECONCILE_GRACE_MS = 60_000;

/**
 * Compiles loaded options (`LoadedAlerterOptions`, as the CLI's loader returns
 * them) into `AlerterOptions`, checking every rule between fields that needs
 * no plugin code; a ConfigError names the field. Receivers' own options are
 * checked by their plugins' schemas when the alerter starts.
 */
export function compileAlerterOptions(raw: LoadedAlerterOptions): AlerterOptions {
  const retention = raw.alertLedgerRetention;
  if (retention > 0 && retention <= raw.alertReconcileLookback + RECONCILE_GRACE_MS) {
    // A purged transition found again by the reconciliation would be sent a second time.
    throw new ConfigError('alertLedgerRetention', 'must be longer than --alert-reconcile-lookback (plus one minute)');
  }
  const seen = new Set<string>();
  for (const receiver of raw.alertReceivers) {
    if (seen.has(receiver.name)) throw new ConfigError('alertReceivers', `receiver ${receiver.name} is defined twice`);
    seen.add(receiver.name);
  }
  for (const route of raw.alertRoutes) {
    for (const r of route.receivers) {
      if (!seen.has(r)) throw new ConfigError('alertRoutes', `route names unknown receiver ${r}`);
    }
  }
  const perm = raw.alertPermissionReceiver;
  if (perm !== undefined && !seen.has(perm)) throw new ConfigError('alertPermissionReceiver', `unknown receiver ${perm}`);
  return {
    alertReceivers: raw.alertReceivers,
    alertRoutes: raw.alertRoutes,
    alertPlugins: raw.alertPlugins,
    alertPermissionReceiver: perm,
    alertGroupWindowMs: raw.alertGroupWindow,
    alertRepeatIntervalMs: raw.alertRepeatInterval,
    alertRepeatSeverities: raw.alertRepeatSeverities,
    alertConcurrency: raw.alertConcurrency,
    alertAttempts: raw.alertAttempts,
    alertBackoffMs: raw.alertBackoff,
    alertSendTimeoutMs: raw.alertSendTimeout,
    alertReconcileIntervalMs: raw.alertReconcileInterval,
    alertLogLevel: raw.alertLogLevel,
    alertReconcileLookbackMs: raw.alertReconcileLookback,
    alertJobRetentionMs: raw.alertJobRetention,
    alertLedgerRetentionMs: retention,
    alertFailedRetentionMs: raw.alertFailedRetention,
    heartbeatIntervalMs: raw.heartbeatInterval,
  };
}

/**
 * For code that builds an alerter (tests, bench): parses raw values the way
 * flags are parsed (`'5s'`, a bare number is seconds), fills defaults, then
 * compileAlerterOptions. Errors name the field.
 */
export function parseAlerterOptions(raw: RawAlerterOptions = {}): AlerterOptions {
  return compileAlerterOptions(parseOptions(AlerterOptionsSchema, raw));
}
