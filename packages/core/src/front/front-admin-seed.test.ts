import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RowDataPacket } from '../mysql.js';
import { Migrator } from '../schema/migrator.js';
import { frontLogin, frontLoginWithPhp } from '../testing/front-login.js';
import { createTestEnvironment, type TestEnvironment } from '../testing/test-environment.js';
import { FrontUsers } from './front-users.js';
import { hashFrontPassword } from './front-password.js';

/** Every seeded row by its names, so ids do not matter and a duplicate shows. */
async function seedRows(env: TestEnvironment) {
  const q = async (sql: string) => (await env.pool.query<RowDataPacket[]>(sql))[0].map((r) => Object.values(r).join(' | '));
  return {
    users: await q('SELECT username FROM `u$users` ORDER BY id'),
    teams: await q('SELECT name, COALESCE(superadmin, 0) FROM `p$teams` ORDER BY id'),
    roles: await q('SELECT r.name AS role, COALESCE(t.name, "-") AS type FROM `p$roles` r LEFT JOIN `s$types` t ON t.id = r.serv_type_id ORDER BY r.id'),
    domainRights: await q(
      `SELECT d.name AS domain, t.name AS team, r.name AS role, COALESCE(p.alert, 0) AS alert FROM \`p$domains\` p
         JOIN \`c$domains\` d ON d.id = p.domain_id JOIN \`p$teams\` t ON t.id = p.team_id JOIN \`p$roles\` r ON r.id = p.role_id
        ORDER BY d.name, t.name, r.name`,
    ),
    memberships: await q('SELECT u.username, t.name AS team FROM `u$teams` ut JOIN `u$users` u ON u.id = ut.user_id JOIN `p$teams` t ON t.id = ut.team_id ORDER BY 1, 2'),
    admins: await q('SELECT u.username, a.team_name FROM `p$users_admin` a JOIN `u$users` u ON u.id = a.user_id'),
  };
}

const JOB_ROLES = (domain: string, alert: number) => [
  `${domain} | ${domain} dba | dba | ${alert}`,
  `${domain} | ${domain} sysadmin | hostadmin | ${alert}`,
  `${domain} | ${domain} sysadmin | sysadmin | ${alert}`,
  `${domain} | ${domain} webadmin | webadmin | ${alert}`,
];

describe("the front's first login (migration 0009 and the admin seed)", () => {
  let env: TestEnvironment;
  beforeAll(async () => {
    env = await createTestEnvironment('front seed', { migrate: false });
  });
  afterAll(async () => env.cleanup());

  let generated: string;

  it("seeds upstream's users, teams, roles and rights, and an admin with a generated password, once across two runs", async () => {
    const first = await new Migrator({ mysql: env.mysqlUrl }).migrate();
    expect(first.applied).toContain('0009_front_login_issue19.sql');
    expect(first.frontAdmin.outcome).toBe('created');
    generated = first.frontAdmin.generatedPassword!;
    expect(generated).toMatch(/^[A-Za-z0-9]{20}$/);
    const seeded = await seedRows(env);

    const second = await new Migrator({ mysql: env.mysqlUrl }).migrate();
    expect(second).toMatchObject({ applied: [], frontAdmin: { outcome: 'kept' } });
    expect(second.frontAdmin.generatedPassword).toBeUndefined();
    expect(await seedRows(env)).toEqual(seeded);

    expect(seeded.users).toEqual(['public', 'admin']); // upstream's ids: public 1, admin 2
    expect(seeded.teams).toEqual([
      'admin | 1', 'public | 0',
      ...['dba', 'sysadmin', 'webadmin'].flatMap((job) => ['Production', 'Qualification', 'Testing', 'Developpement'].map((d) => `${d} ${job} | 0`)),
    ]);
    expect(seeded.roles).toEqual(['hostadmin | -', 'dba | database', 'sysadmin | system', 'webadmin | web']);
    expect(seeded.domainRights).toEqual([...JOB_ROLES('Developpement', 0), ...JOB_ROLES('Production', 1), ...JOB_ROLES('Qualification', 0), ...JOB_ROLES('Testing', 0)]);
    expect(seeded.memberships).toEqual(['admin | admin']);
    expect(seeded.admins).toEqual(['admin | admin']);
  });

  it('stores the password as the front expects: its login SQL and bcrypt accept it, PHP password_verify too', async () => {
    const [[row]] = await env.pool.query<RowDataPacket[]>("SELECT passhash FROM `u$users` WHERE username = 'admin'");
    expect(row.passhash).toMatch(/^\$2y\$10\$[./A-Za-z0-9]{53}$/);
    expect(await frontLogin(env.pool, 'admin', generated)).toEqual({ loggedIn: true, admin: true });
    expect(await frontLogin(env.pool, 'admin', `${generated}x`)).toEqual({ loggedIn: false, admin: false });
    expect(await frontLogin(env.pool, 'public', '')).toEqual({ loggedIn: false, admin: false });
    expect(await frontLoginWithPhp(env.mysqlUrl, 'admin', generated)).toEqual({ loggedIn: true, admin: true });
    expect(await frontLoginWithPhp(env.mysqlUrl, 'admin', 'admin')).toEqual({ loggedIn: false, admin: false });
  });

  it('never overwrites an admin password; gives one, the one asked for, to an admin user that has none', async () => {
    const kept = await new Migrator({ mysql: env.mysqlUrl, frontAdminPassword: 'another-password' }).migrate();
    expect(kept.frontAdmin).toEqual({ outcome: 'kept' });
    expect(await frontLogin(env.pool, 'admin', generated)).toMatchObject({ loggedIn: true });

    await env.pool.query("UPDATE `u$users` SET passhash = NULL WHERE username = 'admin'");
    const set = await new Migrator({ mysql: env.mysqlUrl, frontAdminPassword: 'another-password' }).migrate();
    expect(set.frontAdmin).toEqual({ outcome: 'password-set' });
    expect(await frontLogin(env.pool, 'admin', 'another-password')).toEqual({ loggedIn: true, admin: true });
  });

  it('re-creates a deleted admin user in the admin team; a password change ends its "remember me" tokens', async () => {
    await env.pool.query("DELETE FROM `u$users` WHERE username = 'admin'");
    const again = await new Migrator({ mysql: env.mysqlUrl }).migrate();
    expect(again.frontAdmin.outcome).toBe('created');
    expect(await frontLogin(env.pool, 'admin', again.frontAdmin.generatedPassword!)).toEqual({ loggedIn: true, admin: true });

    const conn = await env.pool.getConnection();
    try {
      const users = new FrontUsers(conn);
      const admin = await users.find('admin');
      await conn.query("INSERT INTO `u$tokens` (user_id, keyname, passhash) VALUES (?, 'k1', ?)", [admin!.id, await hashFrontPassword('remember-me')]);
      await users.setPassword('admin', 'a-new-password');
    } finally {
      conn.release();
    }
    const [[tokens]] = await env.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM `u$tokens`');
    expect(Number(tokens.n)).toBe(0);
    expect(await frontLoginWithPhp(env.mysqlUrl, 'admin', 'a-new-password')).toEqual({ loggedIn: true, admin: true });
  });
});
