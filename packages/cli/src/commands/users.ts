import type { CommandModule } from 'yargs';
import {
  ConfigError,
  errorMessage,
  frontPasswordProblem,
  FrontUserError,
  FrontUsers,
  generateFrontPassword,
  readSecretFile,
} from '@watched/core';
import { commandGroup, withMysql } from '../options.js';
import { readHiddenLine } from '../password-prompt.js';

function withUsers<T>(argv: Record<string, unknown>, work: (users: FrontUsers) => Promise<T>): Promise<T> {
  return withMysql(argv, async (pool) => {
    const conn = await pool.getConnection();
    try {
      return await work(new FrontUsers(conn));
    } finally {
      conn.release();
    }
  });
}

interface PasswordArgs {
  passwordFile?: string;
  generatePassword?: boolean;
}

/** A password and whether it was generated here (then it is printed, once). */
interface ChosenPassword {
  password: string;
  generated: boolean;
}

/**
 * Where a new password comes from: `--password-file` (`/dev/stdin` for a
 * pipe), else `--generate-password`, else a prompt on a terminal, else (a
 * script without a terminal) a generated one.
 */
async function choosePassword(argv: PasswordArgs, username: string): Promise<ChosenPassword> {
  if (argv.passwordFile !== undefined && argv.generatePassword) {
    throw new ConfigError('--password-file', 'give --password-file or --generate-password, not both');
  }
  if (argv.passwordFile !== undefined) {
    let password: string;
    try {
      password = readSecretFile(argv.passwordFile);
    } catch (err) {
      throw new ConfigError('--password-file', errorMessage(err));
    }
    const problem = frontPasswordProblem(password);
    if (problem) throw new ConfigError('--password-file', `the password in ${argv.passwordFile}: ${problem}`);
    return { password, generated: false };
  }
  if (argv.generatePassword || !process.stdin.isTTY) return { password: generateFrontPassword(), generated: true };
  for (;;) {
    const password = await prompt(`password for ${username}: `);
    const problem = frontPasswordProblem(password);
    if (problem) {
      console.error(`watched: ${problem}; try again`);
      continue;
    }
    if ((await prompt('again: ')) === password) return { password, generated: false };
    console.error('watched: the two passwords differ; try again');
  }
}

/** A hidden prompt; Ctrl-C or Ctrl-D there ends the command, changing nothing. */
async function prompt(question: string): Promise<string> {
  try {
    return await readHiddenLine(question);
  } catch {
    console.error('watched: cancelled, nothing changed');
    process.exit(130);
  }
}

function showGenerated(username: string, chosen: ChosenPassword): void {
  if (chosen.generated) console.log(`password of ${username}: ${chosen.password}  (generated, shown only this once)`);
}

/** Refusals that are the caller's usage (exit 2) become ConfigErrors; the others are reported with exit code 1. */
function reportRefusal(err: unknown): void {
  if (!(err instanceof FrontUserError)) throw err;
  if (err.reason === 'unknown-team') throw new ConfigError('--team', err.message);
  if (err.reason === 'invalid-name') throw new ConfigError('username', err.message);
  console.error(`watched: ${err.message}`);
  process.exitCode = 1;
}

const passwordOptions = {
  'password-file': { type: 'string', describe: 'file holding the password (/dev/stdin to pipe it); default: prompt on a terminal' },
  'generate-password': { type: 'boolean', describe: 'generate a password and print it once (the default without a terminal)' },
} as const;

const add: CommandModule<object, PasswordArgs & { username: string; team?: string[]; firstname?: string; lastname?: string }> = {
  command: 'add <username>',
  describe: "Add a user of the web front (u$users), with its teams (u$teams)",
  builder: (yargs) =>
    yargs
      .positional('username', { type: 'string', demandOption: true, describe: 'login name' })
      .option('team', { type: 'string', array: true, describe: 'team to join, repeatable (e.g. admin: every host and the admin pages)' })
      .option('firstname', { type: 'string', describe: 'first name shown by the front' })
      .option('lastname', { type: 'string', describe: 'last name shown by the front' })
      .options(passwordOptions),
  handler: async (argv) => {
    await withUsers(argv, async (users) => {
      // Checked before asking for a password, so a typo does not cost a prompt.
      const teams = argv.team ?? [];
      for (const team of teams) {
        if (!(await users.teamExists(team))) throw new ConfigError('--team', `no team named ${team} (see the front's admin pages, Teams)`);
      }
      if (await users.find(argv.username)) {
        reportRefusal(new FrontUserError('exists', `user ${argv.username} exists already; change its password with \`watched users passwd ${argv.username}\``));
        return;
      }
      const chosen = await choosePassword(argv, argv.username);
      try {
        await users.add({ username: argv.username, password: chosen.password, teams, firstname: argv.firstname, lastname: argv.lastname });
      } catch (err) {
        return reportRefusal(err);
      }
      console.log(`added ${argv.username}${teams.length ? ` (teams ${teams.join(', ')})` : ''}`);
      showGenerated(argv.username, chosen);
    });
  },
};

const passwd: CommandModule<object, PasswordArgs & { username: string }> = {
  command: 'passwd <username>',
  describe: "Change a front user's password (its \"remember me\" logins end)",
  builder: (yargs) => yargs.positional('username', { type: 'string', demandOption: true, describe: 'login name' }).options(passwordOptions),
  handler: async (argv) => {
    await withUsers(argv, async (users) => {
      if (!(await users.find(argv.username))) return reportRefusal(new FrontUserError('unknown-user', `no user named ${argv.username}`));
      const chosen = await choosePassword(argv, argv.username);
      try {
        await users.setPassword(argv.username, chosen.password);
      } catch (err) {
        return reportRefusal(err);
      }
      console.log(`password of ${argv.username} changed`);
      showGenerated(argv.username, chosen);
    });
  },
};

const list: CommandModule<object, { json: boolean }> = {
  command: 'list',
  describe: 'List the front\'s users, their teams and whether they can log in (no hashes)',
  builder: (yargs) => yargs.option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
  handler: async (argv) => {
    const all = await withUsers(argv, (users) => users.list());
    if (argv.json) {
      console.log(JSON.stringify(all, null, 2));
      return;
    }
    console.log(['ID', 'USER', 'NAME', 'TEAMS', 'ADMIN', 'LOGIN'].join('\t'));
    for (const u of all) {
      const name = [u.firstname, u.lastname].filter(Boolean).join(' ');
      console.log([u.id, u.username, name || '-', u.teams.join(',') || '-', u.admin ? 'yes' : 'no', u.hasPassword ? 'password' : 'none'].join('\t'));
    }
  },
};

export const usersCommand = commandGroup('users', "Manage the web front's users (u$users): add, change a password, list", [
  add as CommandModule<object, never>,
  passwd as CommandModule<object, never>,
  list as CommandModule<object, never>,
]);
