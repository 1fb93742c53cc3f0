import type { Logger } from '../logger.js';
import type { Connection } from '../mysql.js';
import { generateFrontPassword, verifyFrontPassword } from './front-password.js';
import { FrontUsers } from './front-users.js';

export const FRONT_ADMIN_USER = 'admin';
/** The superadmin team migration 0009 creates (upstream's seed). */
export const FRONT_ADMIN_TEAM = 'admin';
/** watched.back's schema.sql seeded admin/admin, a published password. */
const PUBLISHED_DEFAULT_PASSWORD = 'admin';

export interface FrontAdminSeedOptions {
  /** The password to give the admin user if this run creates it (`--front-admin-password[-file]`); generated when absent. */
  password?: string;
  logger?: Logger;
}

export interface FrontAdminSeedResult {
  /**
   * `created`: the admin user was added now; `password-set`: it existed
   * without a password (it could not log in) and got one; `kept`: it has a
   * password, left as it is.
   */
  outcome: 'created' | 'password-set' | 'kept';
  /** The password this run generated, to show once; never logged. Absent when none was generated. */
  generatedPassword?: string;
}

/**
 * The part of the front's first login that cannot sit in a .sql migration:
 * the `admin` user, whose password is generated at run time (or given) and
 * stored as a `$2y$` bcrypt hash. Migration 0009 seeds the rest (the
 * `public` user, the teams and roles). Runs after every migrate and does
 * nothing once the admin user has a password: an existing password (an
 * upgraded watched.back database's included) is never overwritten.
 */
export class FrontAdminSeed {
  private readonly users: FrontUsers;

  constructor(
    conn: Connection,
    private readonly options: FrontAdminSeedOptions = {},
  ) {
    this.users = new FrontUsers(conn);
  }

  async run(): Promise<FrontAdminSeedResult> {
    const logger = this.options.logger;
    const existing = await this.users.find(FRONT_ADMIN_USER);
    if (existing?.passhash) {
      if (this.options.password !== undefined) {
        logger?.warn(`the front's ${FRONT_ADMIN_USER} user has a password already: --front-admin-password not applied (change it with \`watched users passwd ${FRONT_ADMIN_USER}\`)`);
      }
      if (await verifyFrontPassword(PUBLISHED_DEFAULT_PASSWORD, existing.passhash)) {
        logger?.warn(`the front's ${FRONT_ADMIN_USER} user still has watched.back's published password '${PUBLISHED_DEFAULT_PASSWORD}': change it with \`watched users passwd ${FRONT_ADMIN_USER}\``);
      }
      return { outcome: 'kept' };
    }
    const generatedPassword = this.options.password === undefined ? generateFrontPassword() : undefined;
    const password = this.options.password ?? generatedPassword!;
    if (existing) {
      if (!(await this.users.setPassword(FRONT_ADMIN_USER, password, { onlyIfUnset: true }))) return { outcome: 'kept' };
      logger?.info(`the front's ${FRONT_ADMIN_USER} user had no password: ${generatedPassword ? 'one was generated' : 'set from --front-admin-password'}`);
      return { outcome: 'password-set', generatedPassword };
    }
    const hasTeam = await this.users.teamExists(FRONT_ADMIN_TEAM);
    if (!hasTeam) logger?.warn(`no team '${FRONT_ADMIN_TEAM}': the front's ${FRONT_ADMIN_USER} user is created without admin rights`);
    await this.users.add({ username: FRONT_ADMIN_USER, password, teams: hasTeam ? [FRONT_ADMIN_TEAM] : [] });
    logger?.info(`the front's ${FRONT_ADMIN_USER} user was created${generatedPassword ? ' with a generated password' : ' with the password of --front-admin-password'}`);
    return { outcome: 'created', generatedPassword };
  }

  /** What `run()` would do, for `migrate --dry-run`; changes nothing. */
  async plan(): Promise<string[]> {
    const existing = await this.users.find(FRONT_ADMIN_USER).catch((err: { code?: string }) => {
      if (err.code === 'ER_NO_SUCH_TABLE') return undefined; // created by the pending migrations
      throw err;
    });
    if (existing?.passhash) return [];
    return [FrontAdminSeed.describe(this.options.password !== undefined, existing !== undefined)];
  }

  /** The dry run's line for an admin user to create (or, `exists`, to give a password). */
  static describe(passwordGiven: boolean, exists = false): string {
    const source = passwordGiven ? 'the password of --front-admin-password' : 'a generated password (printed once)';
    return `-- after the migrations: the front's ${FRONT_ADMIN_USER} user ${exists ? 'gets' : `is created (team ${FRONT_ADMIN_TEAM}) with`} ${source}, stored as a $2y$ bcrypt hash`;
  }
}
