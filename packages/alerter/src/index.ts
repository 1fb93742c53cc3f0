export { Alerter } from './alerter.js';
export { AlerterStats } from './alerter-stats.js';
export { BUILTIN_PLUGINS, Receivers, type Receiver, type ReceiversOptions } from './receivers.js';
export {
  alerterOptionsShape,
  AlerterOptionsSchema,
  compileAlerterOptions,
  RECONCILE_GRACE_MS,
  receiverSchema,
  routeSchema,
  type AlerterOptions,
  parseAlerterOptions,
  type RawAlerterOptions,
  type LoadedAlerterOptions,
  type ReceiverConfig,
  type RouteConfig,
} from './alerter-options.js';
export { definePlugin, loadPluginModule, type AlertPlugin, type AlertSender, type PluginContext } from './plugin.js';
export type { AlertEvent, Notification } from './notification.js';
export { emailPlugin, emailOptionsSchema } from './plugins/email.js';
export { luaPlugin, luaOptionsSchema, luaLevel, LUA_LEVELS } from './plugins/lua.js';
export { webhookPlugin, webhookOptionsSchema, webhookSignature, type WebhookBody } from './plugins/webhook.js';
export { Silences, silenceMatches, SILENCE_KINDS, type Silence, type NewSilence } from './silences.js';
export { routeByConfig, routeByPermissions, PERMISSION_PREFIX } from './routing.js';
export { enrichEvent, KIND_SEVERITY } from './enrich.js';
export { readAlertStatus, type AlertStatus } from './alert-status.js';
