import { adminOptionsShapeFor, baseOptionsShape, camelCase, flagName } from '@watched/core';
import { allOptionsShape } from './all-options.js';
import { ROLES } from './roles.js';
import { WATCHED_COMMANDS } from './commands.js';

/** `worker`, `agents`, ...: the first word of each command. */
function commandNames(): Set<string> {
  return new Set(WATCHED_COMMANDS.map((c) => String(c.command).split(' ')[0]));
}

/** The words of the command line before the first option: `worker`, `agents list`. */
export function commandPath(args: readonly string[]): string {
  const words: string[] = [];
  for (const arg of args) {
    if (arg.startsWith('-')) break;
    words.push(arg);
  }
  return words.slice(0, 2).join(' ');
}

/** The commands an option belongs to, from the ROLES table (`watched up` takes every role's). */
function ownersOf(key: string): string[] {
  const owners = Object.values(ROLES)
    .filter((role) => key in role.shape || key in adminOptionsShapeFor(role.adminPort))
    .map((role) => role.command);
  if (owners.length === 0 && key in allOptionsShape) owners.push('up');
  return owners;
}

function quoted(commands: string[]): string {
  return commands.map((c) => `\`watched ${c}\``).join(', ');
}

/**
 * yargs' "Unknown arguments: lease-ttl, leaseTtl" as one line saying what
 * it is: an option of another command (`--lease-ttl is an option of
 * \`watched coordinator\`, not of \`watched worker\``), or none at all.
 */
function unknownOptions(names: string[], command: string): string {
  const keys = [...new Set(names.map((n) => camelCase(n.trim())).filter(Boolean))];
  const elsewhere: string[] = [];
  const unknown: string[] = [];
  for (const key of keys) {
    const owners = ownersOf(key).filter((c) => c !== command);
    if (owners.length > 0) elsewhere.push(`${flagName(key)} is an option of ${quoted(owners)}, not of \`watched ${command}\``);
    else if (!(key in baseOptionsShape)) unknown.push(flagName(key));
  }
  const parts = [...elsewhere];
  if (unknown.length) parts.push(`unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} of \`watched ${command}\``);
  return parts.join('; ');
}

/**
 * yargs' usage error as the one line the CLI prints (no help dump): what is
 * wrong, and where to read more.
 */
export function usageErrorLine(message: string, args: readonly string[]): string {
  const first = commandPath(args).split(' ')[0];
  if (first && !commandNames().has(first)) return `watched: unknown command ${JSON.stringify(first)} (see \`watched --help\`)`;
  const command = commandPath(args) || 'watched';
  const unknown = /^Unknown arguments?: (.*)$/.exec(message);
  const explained = unknown && commandPath(args) ? unknownOptions(unknown[1].split(','), command) : '';
  const text = explained || message.replace(/\s+/g, ' ').trim();
  return `watched: ${text} (see \`${command === 'watched' ? 'watched' : `watched ${command}`} --help\`)`;
}

/**
 * `--agent-timeout -5s`: yargs reads `-5s` as the short flags 5 and s. A
 * value that starts with a dash and a digit after a long option is the
 * option's value (`--agent-timeout=-5s`), so the option's own check says
 * what is wrong with it.
 */
export function joinDashedValues(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const next = args[i + 1];
    if (/^--[A-Za-z][\w-]*$/.test(arg) && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${arg}=${next}`);
      i += 1;
    } else {
      out.push(arg);
    }
  }
  return out;
}
