import { ConfigError, errorMessage, type Logger } from '@watched/core';
import type { AlerterOptions, RouteConfig } from './alerter-options.js';
import { loadPluginModule, type AlertPlugin, type AlertSender } from './plugin.js';
import { emailPlugin } from './plugins/email.js';
import { luaPlugin } from './plugins/lua.js';
import { webhookPlugin } from './plugins/webhook.js';

export const BUILTIN_PLUGINS: AlertPlugin[] = [emailPlugin, webhookPlugin, luaPlugin] as unknown as AlertPlugin[];

/** A running receiver: its plugin instance and the plugin's name (the metrics label). */
export interface Receiver {
  readonly sender: AlertSender;
  readonly plugin: string;
}

/** What opening the receivers reads. */
export type ReceiversOptions = Pick<AlerterOptions, 'alertPlugins' | 'alertReceivers' | 'alertPermissionReceiver'>;

/**
 * The configured receivers, each a sender created by its plugin. Opening
 * them needs plugin code (modules from `alertPlugins`, each plugin's options
 * schema), which is why these checks happen at start-up and not when the
 * options are compiled. A failed `open` leaves what it created for `close`.
 */
export class Receivers {
  private readonly running = new Map<string, Receiver>();

  constructor(
    private readonly logger: Logger,
    /** Plugins given in code (besides the built-ins and `alertPlugins` modules). */
    private readonly extraPlugins: AlertPlugin[] = [],
  ) {}

  /** Loads the plugin modules, validates every receiver's options with its plugin's schema and creates its sender. */
  async open(options: ReceiversOptions): Promise<void> {
    const plugins = new Map<string, AlertPlugin>();
    for (const p of [...BUILTIN_PLUGINS, ...this.extraPlugins]) plugins.set(p.name, p);
    for (const spec of options.alertPlugins) {
      let plugin: AlertPlugin;
      try {
        plugin = await loadPluginModule(spec);
      } catch (err) {
        throw new ConfigError('alertPlugins', errorMessage(err));
      }
      plugins.set(plugin.name, plugin);
    }
    for (const receiver of options.alertReceivers) {
      const plugin = plugins.get(receiver.plugin);
      if (!plugin) {
        throw new ConfigError('alertReceivers', `receiver ${receiver.name}: unknown plugin ${receiver.plugin} (known: ${[...plugins.keys()].join(', ')})`);
      }
      const parsed = plugin.options.safeParse(receiver.options);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
        throw new ConfigError('alertReceivers', `receiver ${receiver.name} (${plugin.name}): ${issues}`);
      }
      const sender = await plugin.create(parsed.data, { receiver: receiver.name, logger: this.logger });
      this.running.set(receiver.name, { sender, plugin: plugin.name });
      if (receiver.name === options.alertPermissionReceiver && !plugin.addressable) {
        throw new ConfigError('alertPermissionReceiver', `receiver ${receiver.name}: plugin ${plugin.name} cannot send to addresses (use email)`);
      }
    }
  }

  /** The running receiver of that (configured) name. */
  get(name: string): Receiver | undefined {
    return this.running.get(name);
  }

  get names(): string[] {
    return [...this.running.keys()];
  }

  /** Every receiver a route names must be running (receivers change on a restart only); `note` ends the error. */
  checkRoutes(routes: RouteConfig[], note = ''): void {
    for (const route of routes) {
      for (const r of route.receivers) {
        if (!this.running.has(r)) throw new ConfigError('alertRoutes', `route names unknown receiver ${r}${note}`);
      }
    }
  }

  /** Closes every sender (errors logged, the others still closed). */
  async close(): Promise<void> {
    for (const [name, { sender }] of this.running) {
      await sender.close?.().catch((err: Error) => this.logger.warn(`closing receiver ${name}: ${err.message}`));
    }
    this.running.clear();
  }
}
