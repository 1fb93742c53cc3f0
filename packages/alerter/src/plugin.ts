import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { z } from 'zod';
import type { Logger } from '@watched/core';
import type { Notification } from './notification.js';

/** A configured plugin instance: one per receiver. */
export interface AlertSender {
  /** Sends one message; throws to have it retried later (with backoff). */
  send(notification: Notification, signal: AbortSignal): Promise<void>;
  /** Releases connections (SMTP pools...). */
  close?(): Promise<void>;
}

/**
 * A plugin: a name, a zod schema of its options (checked at start-up for each
 * receiver that uses it, so a bad receiver stops the alerter with a message),
 * and a factory. Modules listed in `alertPlugins` export one as `default` or `plugin`.
 */
export interface AlertPlugin<Schema extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly options: Schema;
  /** True when the plugin honours `notification.recipients` (usable as the permission receiver). */
  readonly addressable?: boolean;
  create(options: z.output<Schema>, context: PluginContext): AlertSender | Promise<AlertSender>;
}

export interface PluginContext {
  receiver: string;
  logger: Logger;
}

/** Helps plugin authors keep the options type: `export default definePlugin({...})`. */
export function definePlugin<Schema extends z.ZodType>(plugin: AlertPlugin<Schema>): AlertPlugin<Schema> {
  return plugin;
}

function isPlugin(value: unknown): value is AlertPlugin {
  const p = value as Partial<AlertPlugin> | null;
  return (
    !!p && typeof p === 'object' && typeof p.name === 'string' && typeof p.create === 'function' &&
    !!p.options && typeof (p.options as { safeParse?: unknown }).safeParse === 'function'
  );
}

/** Imports a plugin module (a path, relative to the working directory, or a package name). */
export async function loadPluginModule(specifier: string): Promise<AlertPlugin> {
  const target = specifier.startsWith('.') || isAbsolute(specifier) ? pathToFileURL(resolve(specifier)).href : specifier;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(target)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`cannot load plugin module ${specifier}: ${(err as Error).message}`);
  }
  const candidate = mod.default ?? mod.plugin;
  if (!isPlugin(candidate)) {
    throw new Error(`plugin module ${specifier} must export (default or \`plugin\`) {name, options: zod schema, create()}`);
  }
  return candidate;
}
