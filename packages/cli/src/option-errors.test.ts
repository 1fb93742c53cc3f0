import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import yargs from 'yargs';
import type { z } from 'zod';
import { camelCase, flagName, secretFileTarget, secrets } from '@watched/core';
import { allOptionsShape } from './all-options.js';
import { WATCHED_COMMANDS } from './commands.js';
import { run } from './main.js';
import { ROLES } from './roles.js';

/**
 * Every option of every command, each given a bad value: one line on
 * stderr naming the option, exit code 2, nothing started. The commands and
 * their options are read from WATCHED_COMMANDS (each builder applied to a
 * fresh yargs) and their schemas from the options shapes, so a new option
 * or command is covered without touching this file.
 */

/** Values tried, in order, until the option's own schema refuses one (never run: a value that passes would start the command). */
const CANDIDATES = ['-5s', '0', 'not a valid value!', '', 'x'.repeat(300), '{"not": "a list"}', '999999999999'];
/** Options whose schema takes any text: nothing can be wrong with their value alone. Listed so that a new one is a decision. */
const FREE_TEXT = new Set([
  'migrationsDir', 'nodeId', 'alertPlugins', 'simAdvertise', 'dataDir', 'embeddedSearchPath',
  // Lists whose items compileDiscoveryOptions checks (DNS names, IP:PORT; globs are any text): their errors are tested below.
  'discoveryFile', 'discoveryDns', 'discoverySrv', 'discoveryDnsServer',
]);

type Shape = Record<string, z.ZodType>;
const shape = allOptionsShape as Shape;

/** The words that run a command: `worker`, `agents list` for a group (its subcommand without arguments). */
function commandWords(module: (typeof WATCHED_COMMANDS)[number]): string[] {
  const name = String(module.command).split(' ')[0];
  return String(module.command).includes('<command>') ? [name, 'list'] : [name];
}

/** The zod options a command declares, as its builder declares them on a fresh yargs. */
function declaredOptions(module: (typeof WATCHED_COMMANDS)[number]): string[] {
  const builder = module.builder as (y: ReturnType<typeof yargs>) => ReturnType<typeof yargs>;
  // getOptions() is in yargs at run time but not in its types.
  const declared = (builder(yargs([])) as unknown as { getOptions(): { string: string[] } }).getOptions().string;
  return [...new Set(declared.map(camelCase))].filter((key) => key in shape);
}

/** A value the option refuses (a missing file for `*File` options, which the loader reads), or undefined when any text goes. */
function badValueFor(key: string): string | undefined {
  if (secretFileTarget(shape[key])) return '/nonexistent/secret-file';
  return CANDIDATES.find((value) => !shape[key].safeParse(value).success);
}

describe('a wrong value of any option is one line naming it, exit code 2', () => {
  const saved: NodeJS.ProcessEnv = {};
  let lines: string[] = [];

  beforeAll(() => {
    // The environment of the test run must not decide anything here.
    for (const name of Object.keys(process.env).filter((n) => n.startsWith('WATCHED_'))) {
      saved[name] = process.env[name];
      delete process.env[name];
    }
    jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => (lines.push(String(chunk)), true));
  });
  afterAll(() => {
    jest.restoreAllMocks();
    Object.assign(process.env, saved);
  });

  const cases = WATCHED_COMMANDS.flatMap((module) =>
    declaredOptions(module).map((key) => ({ words: commandWords(module), key, value: badValueFor(key) })),
  );

  it('covers every role of the ROLES table and every option of its shape', () => {
    for (const role of Object.values(ROLES)) {
      const keys = cases.filter((c) => c.words[0] === role.command).map((c) => c.key);
      expect(keys).toEqual(expect.arrayContaining(Object.keys(role.shape)));
    }
    const free = [...new Set(cases.filter((c) => c.value === undefined).map((c) => c.key))];
    expect(free.filter((key) => !FREE_TEXT.has(key))).toEqual([]);
  });

  it.each(cases.filter((c) => c.value !== undefined).map((c) => [`${c.words.join(' ')} ${flagName(c.key)} ${JSON.stringify(c.value).slice(0, 30)}`, c] as const))(
    '%s',
    async (_name, { words, key, value }) => {
      lines = [];
      // Each run stands for a process of its own: what an earlier one took for a secret (a bad token) is not one here.
      secrets.clear();
      const exitCode = await run([...words, `${flagName(key)}=${value}`]);
      const output = lines.join('').trimEnd().split('\n');
      expect({ exitCode, output }).toEqual({ exitCode: 2, output: [expect.stringMatching(new RegExp(`^watched: .*(${key}|${flagName(key)})\\b`))] });
    },
  );

  it.each([
    ['worker', '--agent-timeout', '-5s', /agentTimeout: expected a duration .* longer than 0, got "-5s" \(from --agent-timeout\)/],
    ['worker', '--agent-timeout', '0', /agentTimeout: expected a duration/],
    ['coordinator', '--tick-interval', '0', /tickInterval: expected a duration/],
    ['worker', '--lease-ttl', '5s', /^watched: --lease-ttl is an option of `watched coordinator`, not of `watched worker`/],
    ['status', '--agent-timeout', '5s', /^watched: --agent-timeout is an option of `watched worker`, not of `watched status`/],
    ['worker', '--bogus-option', '1', /^watched: unknown option --bogus-option of `watched worker`/],
    ['worker', '--mysql-url', 'mysql://root@127.0.0.1/no-such-db!', /mysqlUrl: database name "no-such-db!" is not allowed/],
    ['coordinator', '--discovery-dns', 'not a name!:9080', /discoveryDns: "not a name!" is not a DNS name/],
    ['coordinator', '--discovery-dns-server', 'dns.example.org', /discoveryDnsServer: "dns.example.org": expected an IP address/],
  ])('%s %s %s: %p', async (command, flag, value, expected) => {
    lines = [];
    secrets.clear();
    // Separate words, as a shell passes them: `-5s` is the value, not the short flags 5 and s.
    const exitCode = await run([command, flag, value]);
    const output = lines.join('').trimEnd().split('\n');
    expect(exitCode).toBe(2);
    expect(output).toEqual([expect.stringMatching(expected)]);
  });
});
