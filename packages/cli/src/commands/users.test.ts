import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RowDataPacket } from '@watched/core';
import { createTestEnvironment, frontLogin, frontLoginWithPhp, type TestEnvironment } from '@watched/core/testing';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/watched.js', import.meta.url));

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

describe("the front's login from the command line (watched migrate, watched users)", () => {
  let given: TestEnvironment;
  let generated: TestEnvironment;
  let dir: string;
  const watched = (env: TestEnvironment, ...args: string[]): Promise<Outcome> =>
    run(process.execPath, [BIN, ...args], { env: { ...process.env, WATCHED_MYSQL_URL: env.mysqlUrl, WATCHED_LOG_LEVEL: 'warn' } }).then(
      (r) => ({ code: 0, ...r }),
      (err: Outcome) => err,
    );
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'watched-users-'));
    given = await createTestEnvironment('cli_users_given', { migrate: false });
    generated = await createTestEnvironment('cli_users_generated', { migrate: false });
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await given?.cleanup();
    await generated?.cleanup();
  });

  it('migrate prints the generated admin password once; it logs in through the front\'s SQL, bcrypt and PHP', async () => {
    const first = await watched(generated, 'migrate');
    expect(first.code).toBe(0);
    const password = /login: user admin, password (\S+)/.exec(first.stdout)?.[1];
    expect(password).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(first.stdout.match(new RegExp(password!, 'g'))).toHaveLength(1);
    expect(first.stdout + first.stderr).not.toMatch(/\$2y\$/);
    expect(await frontLogin(generated.pool, 'admin', password!)).toEqual({ loggedIn: true, admin: true });
    expect(await frontLoginWithPhp(generated.mysqlUrl, 'admin', password!)).toEqual({ loggedIn: true, admin: true });

    const second = await watched(generated, 'migrate');
    expect(second).toMatchObject({ code: 0, stdout: expect.not.stringMatching(/password/) });
    expect(await frontLogin(generated.pool, 'admin', password!)).toMatchObject({ loggedIn: true });
  });

  it('--front-admin-password-file gives the password: used, never printed; an existing password is not replaced', async () => {
    const secret = 'from-a-mounted-secret';
    const first = await watched(given, 'migrate', '--front-admin-password-file', file('admin.pw', `${secret}\n`));
    expect(first.code).toBe(0);
    expect(first.stdout + first.stderr).not.toMatch(/from-a-mounted-secret|password [A-Za-z0-9]{20}/);
    expect(await frontLoginWithPhp(given.mysqlUrl, 'admin', secret)).toEqual({ loggedIn: true, admin: true });

    const again = await watched(given, 'migrate', '--front-admin-password-file', file('other.pw', 'some-other-password'));
    expect(again.stdout).toMatch(/admin user has a password already: --front-admin-password not applied/);
    expect(await frontLogin(given.pool, 'admin', secret)).toMatchObject({ loggedIn: true });

    const short = await watched(given, 'migrate', '--front-admin-password-file', file('short.pw', 'tiny7'));
    expect(short).toMatchObject({ code: 2, stderr: expect.stringMatching(/frontAdminPassword: at least 8 characters \(from frontAdminPasswordFile/) });
    expect(short.stderr).not.toMatch(/tiny7/);
  });

  it("warns while the admin user still has watched.back's published password", async () => {
    // watched.back's schema.sql seeded admin/admin with this hash (too short a password for `users passwd`)
    await given.pool.query("UPDATE `u$users` SET passhash = '$2y$10$GG4XXB9YGIZYZ6anAAZN1etXSldQqb1v7uO8p4H1r4eFOdkk80znW' WHERE username = 'admin'");
    expect((await watched(given, 'migrate')).stdout).toMatch(/still has watched\.back's published password 'admin': change it with `watched users passwd admin`/);
    expect(await frontLogin(given.pool, 'admin', 'admin')).toMatchObject({ loggedIn: true }); // kept, not overwritten
    await watched(given, 'users', 'passwd', 'admin', '--password-file', file('new-admin.pw', 'not-the-default'));
    expect((await watched(given, 'migrate')).stdout).not.toMatch(/published password/);
  });

  it('users add, passwd and list: teams, passwords from a file or generated, no hashes shown, errors naming the option', async () => {
    const added = await watched(given, 'users', 'add', 'bob', '--team', 'Production dba', '--team', 'Testing dba', '--firstname', 'Bob', '--password-file', file('bob.pw', 'bob-password-1'));
    expect(added).toMatchObject({ code: 0, stdout: expect.stringMatching(/added bob \(teams Production dba, Testing dba\)/) });
    expect(await frontLoginWithPhp(given.mysqlUrl, 'bob', 'bob-password-1')).toEqual({ loggedIn: true, admin: false });

    // no terminal and no file: a generated password, printed once
    const carol = await watched(given, 'users', 'add', 'carol', '--team', 'admin');
    const carolPassword = /password of carol: (\S+)/.exec(carol.stdout)?.[1];
    expect(await frontLogin(given.pool, 'carol', carolPassword!)).toEqual({ loggedIn: true, admin: true });

    expect(await watched(given, 'users', 'add', 'bob', '--password-file', file('x.pw', 'whatever-1'))).toMatchObject({ code: 1, stderr: expect.stringMatching(/user bob exists already/) });
    expect(await watched(given, 'users', 'add', 'dave', '--team', 'no such team')).toMatchObject({ code: 2, stderr: expect.stringMatching(/invalid option --team: no team named no such team/) });
    expect(await watched(given, 'users', 'add', 'dave', '--password-file', file('short2.pw', 'short'))).toMatchObject({ code: 2, stderr: expect.stringMatching(/invalid option --password-file: .*at least 8 characters/) });
    expect(await watched(given, 'users', 'add', 'dave', '--password-file', join(dir, 'missing.pw'))).toMatchObject({ code: 2, stderr: expect.stringMatching(/invalid option --password-file: cannot read/) });
    expect(await watched(given, 'users', 'add', 'dave', '--password-file', file('y.pw', 'whatever-1'), '--generate-password')).toMatchObject({ code: 2 });
    expect(await watched(given, 'users', 'add')).toMatchObject({ code: 2 });
    const [[dave]] = await given.pool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM `u$users` WHERE username = 'dave'");
    expect(Number(dave.n)).toBe(0);

    expect(await watched(given, 'users', 'passwd', 'bob', '--password-file', file('bob2.pw', 'bob-password-2'))).toMatchObject({ code: 0, stdout: expect.stringMatching(/password of bob changed/) });
    expect(await frontLogin(given.pool, 'bob', 'bob-password-1')).toMatchObject({ loggedIn: false });
    expect(await frontLoginWithPhp(given.mysqlUrl, 'bob', 'bob-password-2')).toMatchObject({ loggedIn: true });
    expect(await watched(given, 'users', 'passwd', 'ghost', '--generate-password')).toMatchObject({ code: 1, stderr: expect.stringMatching(/no user named ghost/) });

    const json = await watched(given, 'users', 'list', '--json');
    expect(json.stdout).not.toMatch(/\$2y\$|passhash/);
    expect(JSON.parse(json.stdout)).toEqual([
      { id: 1, username: 'public', firstname: null, lastname: null, teams: [], admin: false, hasPassword: false },
      expect.objectContaining({ username: 'admin', teams: ['admin'], admin: true, hasPassword: true }),
      { id: expect.any(Number), username: 'bob', firstname: 'Bob', lastname: null, teams: ['Production dba', 'Testing dba'], admin: false, hasPassword: true },
      expect.objectContaining({ username: 'carol', teams: ['admin'], admin: true }),
    ]);
    const table = (await watched(given, 'users', 'list')).stdout.split('\n');
    expect(table[0].split('\t')).toEqual(['ID', 'USER', 'NAME', 'TEAMS', 'ADMIN', 'LOGIN']);
    expect(table.find((l) => l.includes('\tbob\t'))!.split('\t').slice(1)).toEqual(['bob', 'Bob', 'Production dba,Testing dba', 'no', 'password']);
    expect(table.find((l) => l.includes('\tpublic\t'))!.split('\t').slice(4)).toEqual(['no', 'none']);
  });
});
