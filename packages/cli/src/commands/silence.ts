import type { CommandModule } from 'yargs';
import { SILENCE_KINDS, Silences, type Silence } from '@watched/alerter';
import { ConfigError, parseDurationMs } from '@watched/core';
import { commandGroup, withMysql } from '../options.js';

function withSilences<T>(argv: Record<string, unknown>, work: (silences: Silences) => Promise<T>): Promise<T> {
  return withMysql(argv, (pool) => work(new Silences(pool)));
}

/** `now`, an ISO date/time, or epoch ms. */
function parseTime(option: string, value: string): number {
  if (value === 'now') return Date.now();
  const ms = /^\d{10,}$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new ConfigError(option, `expected now, an ISO date/time or epoch ms, got ${JSON.stringify(value)}`);
  return ms;
}

interface AddArgs {
  host?: string;
  service?: string;
  resType?: string;
  severity?: string;
  kind?: string;
  start: string;
  end?: string;
  duration?: string;
  comment?: string;
  by?: string;
}

const add: CommandModule<object, AddArgs> = {
  command: 'add',
  describe: 'Silence matching events for a while (a maintenance window); they are recorded, not sent',
  builder: (yargs) =>
    yargs
      .option('host', { type: 'string', describe: 'host name (* wildcards)' })
      .option('service', { type: 'string', describe: 'service name (* wildcards)' })
      .option('res-type', { type: 'string', describe: 'resource (data) type, e.g. disk_usage (* wildcards)' })
      .option('severity', { type: 'string', describe: 'event type: Critical, Error, Warning, Notice, Information' })
      .option('kind', { type: 'string', choices: [...SILENCE_KINDS], describe: 'event kind' })
      .option('start', { type: 'string', default: 'now', describe: 'start: now, ISO date/time or epoch ms' })
      .option('end', { type: 'string', describe: 'end: ISO date/time or epoch ms' })
      .option('duration', { type: 'string', describe: 'length instead of --end, e.g. 2h' })
      .option('comment', { type: 'string', describe: 'why' })
      .option('by', { type: 'string', describe: 'who (default: $USER)' }),
  handler: async (argv) => {
    const startsAt = parseTime('start', argv.start);
    let endsAt: number;
    if (argv.end !== undefined) endsAt = parseTime('end', argv.end);
    else if (argv.duration !== undefined) {
      const ms = parseDurationMs(argv.duration);
      if (!Number.isFinite(ms) || ms <= 0) throw new ConfigError('duration', `expected a duration like 30m, 2h, got ${JSON.stringify(argv.duration)}`);
      endsAt = startsAt + ms;
    } else throw new ConfigError('end', 'give --end or --duration');
    if (!(endsAt > startsAt)) throw new ConfigError('end', 'the silence must end after it starts');
    if (!argv.host && !argv.service && !argv.resType && !argv.severity && !argv.kind) {
      console.error('watched: note: no matcher given, this silences every event');
    }
    const id = await withSilences(argv as unknown as Record<string, unknown>, (s) =>
      s.add({
        host: argv.host, service: argv.service, resType: argv.resType, severity: argv.severity, kind: argv.kind,
        startsAt, endsAt, comment: argv.comment, createdBy: argv.by ?? process.env.USER ?? null,
      }),
    );
    console.log(`silence ${id} until ${new Date(endsAt).toISOString()}`);
  },
};

function describeSilence(s: Silence): string {
  const m = [
    s.host && `host=${s.host}`, s.service && `service=${s.service}`, s.resType && `res-type=${s.resType}`,
    s.severity && `severity=${s.severity}`, s.kind && `kind=${s.kind}`,
  ].filter(Boolean);
  return m.length ? m.join(' ') : '(everything)';
}

const list: CommandModule<object, { all: boolean; json: boolean }> = {
  command: 'list',
  describe: 'List silences not yet ended (--all: every one)',
  builder: (yargs) =>
    yargs
      .option('all', { type: 'boolean', default: false, describe: 'include ended silences' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
  handler: async (argv) => {
    const silences = await withSilences(argv, (s) => s.list({ all: argv.all }));
    if (argv.json) {
      console.log(JSON.stringify(silences, null, 2));
      return;
    }
    const now = Date.now();
    console.log(['ID', 'MATCH', 'START', 'END', 'STATE', 'BY', 'COMMENT'].join('\t'));
    for (const s of silences) {
      const state = s.endsAt <= now ? 'ended' : s.startsAt > now ? 'pending' : 'active';
      console.log([s.id, describeSilence(s), new Date(s.startsAt).toISOString(), new Date(s.endsAt).toISOString(), state, s.createdBy ?? '', s.comment ?? ''].join('\t'));
    }
  },
};

const remove: CommandModule<object, { id: number }> = {
  command: 'remove <id>',
  describe: 'Delete a silence (events it silenced stay recorded)',
  builder: (yargs) => yargs.positional('id', { type: 'number', demandOption: true, describe: 'silence id (see list)' }),
  handler: async (argv) => {
    const removed = await withSilences(argv, (s) => s.remove(argv.id));
    console.log(removed ? `removed silence ${argv.id}` : `no silence ${argv.id}`);
    if (!removed) process.exitCode = 1;
  },
};

export const silenceCommand = commandGroup('silence', 'Manage alert silences and maintenance windows (c$alert_silences)', [
  add as CommandModule<object, never>,
  list as CommandModule<object, never>,
  remove as CommandModule<object, never>,
]);
