import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestEnvironment, waitFor, type TestEnvironment } from '@watched/core/testing';
import { collectStatus, type ClusterStatus } from '../commands/status.js';
import { spawnWatched, WATCHED_BIN, type RoleProcess } from './processes.js';

const run = promisify(execFile);

/** A simulated fleet on a port of this file's own, polled every second, so numbers move within seconds. */
const SIM_ARGS = ['--sim', '3', '--sim-port', '19381', '--sim-freq', '1', '--tick-interval', '200ms', '--agent-refresh', '500ms'];

/** What `watched status` says of one `watched up`: each of its roles counted, all in one process. */
async function expectEveryRoleCounted(env: TestEnvironment): Promise<ClusterStatus> {
  const status = await waitFor(
    'every role of up in the membership',
    async () => {
      const s = await collectStatus(env.redis, env.keys, env.pool);
      return s.coordinators.length === 1 && s.workers.length === 1 && s.others.length === 2 ? s : undefined;
    },
    20_000,
    200,
  );
  expect(status.others.map((m) => m.role)).toEqual(['aggregator', 'alerter']);
  expect(status.processes).toHaveLength(1);
  expect(status.processes[0].roles).toEqual(['aggregator', 'alerter', 'coordinator', 'worker']);
  return status;
}

/**
 * `watched up` as a user sees it: on a terminal (a tmux pane, a real
 * pseudo-terminal) a live view at the bottom, redrawn in place, with the log
 * lines above it and no node id on them; through a pipe, plain status lines.
 * Either way `watched status` counts each of its roles.
 */
describe('watched up: the live view on a terminal, plain lines otherwise', () => {
  let env: TestEnvironment;
  const processes: RoleProcess[] = [];
  // A tmux server of its own (its own socket): nothing else's sessions are touched.
  const dir = mkdtempSync(join(tmpdir(), 'watched-up-terminal-'));
  const socket = join(dir, 'tmux.sock');
  const session = `up-${randomBytes(3).toString('hex')}`;
  const tmux = (...args: string[]) => run('tmux', ['-S', socket, ...args]);
  const screen = async () => (await tmux('capture-pane', '-p', '-t', session)).stdout;

  beforeAll(async () => {
    env = await createTestEnvironment('up_terminal');
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL').catch(() => undefined)));
    await tmux('kill-server').catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    await env?.cleanup();
  });

  it('not a terminal: plain status lines as log lines, and every role of the process in watched status', async () => {
    const up = spawnWatched('up', ['up', ...SIM_ARGS, '--status-interval', '1s'], { mysqlUrl: env.mysqlUrl, redisUrl: env.redisUrl, prefix: env.prefix });
    processes.push(up);
    const lines = () =>
      up
        .output.join('')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { message: string; role?: string });
    const statusLines = () => lines().filter((l) => l.role === 'status' && /^agents \d+ in \d+ groups/.test(l.message));
    await waitFor('two status lines with polls counted', () => statusLines().filter((l) => !/polls 0 /.test(l.message)).length >= 2, 30_000, 200);
    expect(statusLines()[0].message).toMatch(/polls \d+ \(\d+ failed, [\d.]+\/s\) \| rows written [\d,]+ \([\d,]+\/s\) \| .* \| lag [\d.]+s$/);
    expect(up.output.join('')).not.toContain('\u001b['); // no terminal control codes in a pipe
    await expectEveryRoleCounted(env);
    expect(await up.stop('SIGTERM')).toBe(0);
  });

  it('on a terminal: a live view redrawn in place at the bottom, log lines above it', async () => {
    const envVars = Object.entries({
      WATCHED_MYSQL_URL: env.mysqlUrl,
      WATCHED_REDIS_URL: env.redisUrl,
      WATCHED_PREFIX: env.prefix,
      WATCHED_ADMIN_LISTEN: '127.0.0.1:0',
      TERM: 'xterm-256color',
    }).map(([k, v]) => `${k}=${v}`);
    const command = ['env', ...envVars, process.execPath, WATCHED_BIN, 'up', ...SIM_ARGS].map((w) => `'${w}'`).join(' ');
    // The pane stays after the exit, showing how it ended.
    await tmux('new-session', '-d', '-s', session, '-x', '150', '-y', '40', `${command}; echo "exited $?"; sleep 120`);

    const viewOf = (text: string) => {
      const lines = text.split('\n');
      const top = lines.findIndex((l) => l.startsWith('── watched up '));
      return top < 0 ? undefined : { above: lines.slice(0, top), view: lines.slice(top, top + 4).join('\n'), below: lines.slice(top + 4) };
    };
    const pollsOf = (view: string) => Number(/\bpolls ([\d,]+)\s/.exec(view)?.[1].replace(/,/g, '') ?? Number.NaN);
    const first = await waitFor(
      'the live view with polls counted',
      async () => {
        const v = viewOf(await screen());
        return v && pollsOf(v.view) > 0 ? v : undefined;
      },
      30_000,
      250,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await screen()}`);
    });
    expect(first.view).toMatch(/^agents 3 in \d+ groups {3}leader this process \(term \d+\)$/m);
    expect(first.view).toMatch(/^polls\/s [\d.]+ {3}rows\/s [\d,]+ {3}errors \d+ polls, \d+ jobs {3}lag [\d.]+ s$/m);
    expect(first.view).toMatch(/^polls [\d,]+ {3}rows [\d,]+ {3}jobs [\d,]+ {3}queue \d+ waiting, \d+ active, \d+ delayed$/m);
    // The log lines are above the view, pretty, without the node id on each; the view is the last thing on the screen.
    // Read with the pane's scrollback: on a loaded machine more lines may have scrolled past the 40 visible ones.
    const history = (await tmux('capture-pane', '-p', '-S', '-', '-t', session)).stdout.split('\n');
    const logLines = history.filter((l) => /^\d\d:\d\d:\d\d\.\d{3} /.test(l));
    expect(logLines.some((l) => /\[coordinator\] coordinator started \(node /.test(l))).toBe(true);
    expect(logLines.some((l) => /schema ready/.test(l))).toBe(true);
    expect(logLines.join('\n')).not.toMatch(/nodeId=/);
    expect(first.below.join('').trim()).toBe('');

    // Redrawn in place: the numbers move, and the view is still drawn once, at the bottom.
    const later = await waitFor(
      'the live view to count more polls',
      async () => {
        const text = await screen();
        const v = viewOf(text);
        return v && pollsOf(v.view) > pollsOf(first.view) ? { v, text } : undefined;
      },
      20_000,
      250,
    );
    expect(later.text.split('\n').filter((l) => l.startsWith('── watched up ')).length).toBe(1);
    expect(later.v.below.join('').trim()).toBe('');
    await expectEveryRoleCounted(env);

    await tmux('send-keys', '-t', session, 'C-c');
    const end = await waitFor('up to exit', async () => {
      const text = await screen();
      return /^exited \d+$/m.test(text) ? text : undefined;
    }, 30_000, 250);
    expect(end).toMatch(/^exited 0$/m);
    // Stopping logs below the last view, which stays on the screen.
    expect(end.indexOf('── watched up ')).toBeGreaterThanOrEqual(0);
    expect(end.lastIndexOf('stopped')).toBeGreaterThan(end.lastIndexOf('── watched up '));
  });
});
