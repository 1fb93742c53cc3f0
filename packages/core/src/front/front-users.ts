import { inTransaction, type Connection, type ResultSetHeader, type RowDataPacket } from '../mysql.js';
import { hashFrontPassword } from './front-password.js';

/** Why a change to the front's users was refused. */
export class FrontUserError extends Error {
  constructor(
    readonly reason: 'exists' | 'unknown-user' | 'unknown-team' | 'invalid-name',
    message: string,
  ) {
    super(message);
    this.name = 'FrontUserError';
  }
}

/** A user of the web front as `watched users list` shows it: never its hash. */
export interface FrontUser {
  id: number;
  username: string;
  firstname: string | null;
  lastname: string | null;
  teams: string[];
  /** In a superadmin team (the front's `p$users_admin` view): may open the admin pages. */
  admin: boolean;
  /** Has a password hash; a user without one (`public`) cannot log in. */
  hasPassword: boolean;
}

export interface NewFrontUser {
  username: string;
  /** Plain text, hashed here; undefined leaves the user without a password (it cannot log in). */
  password?: string;
  /** Names of existing `p$teams`. */
  teams?: string[];
  firstname?: string;
  lastname?: string;
}

/** `u$users.username` is VARCHAR(256). */
const MAX_USERNAME = 256;

/**
 * The web front's users (`u$users`, team memberships in `u$teams`), written
 * the way the front's own admin pages write them, so that its login
 * (`select passhash, id from u$users where username = :login`, then PHP
 * `password_verify`) and its permission views read them unchanged.
 */
export class FrontUsers {
  constructor(private readonly conn: Connection) {}

  /** The row the front's login reads; undefined when no such user. */
  async find(username: string): Promise<{ id: number; passhash: string | null } | undefined> {
    const [rows] = await this.conn.query<RowDataPacket[]>('SELECT passhash, id FROM `u$users` WHERE username = ?', [username]);
    return rows[0] ? { id: Number(rows[0].id), passhash: rows[0].passhash ?? null } : undefined;
  }

  async teamExists(name: string): Promise<boolean> {
    const [rows] = await this.conn.query<RowDataPacket[]>('SELECT 1 FROM `p$teams` WHERE name = ?', [name]);
    return rows.length > 0;
  }

  /** Adds a user and its team memberships in one transaction; returns its id. */
  async add(user: NewFrontUser): Promise<number> {
    const username = user.username;
    if (username.trim() === '' || username !== username.trim() || username.length > MAX_USERNAME) {
      throw new FrontUserError('invalid-name', `invalid user name ${JSON.stringify(username.slice(0, 80))}: 1 to ${MAX_USERNAME} characters, no surrounding spaces`);
    }
    // Hashed before the transaction: bcrypt takes tens of milliseconds, no lock need wait for it.
    const passhash = user.password === undefined ? null : await hashFrontPassword(user.password);
    const teams = [...new Set(user.teams ?? [])];
    return this.transaction(async () => {
      const teamIds = await this.teamIds(teams);
      let id: number;
      try {
        const [result] = await this.conn.query<ResultSetHeader>(
          'INSERT INTO `u$users` (username, firstname, lastname, passhash) VALUES (?, ?, ?, ?)',
          [username, user.firstname ?? null, user.lastname ?? null, passhash],
        );
        id = result.insertId;
      } catch (err) {
        if ((err as { code?: string }).code === 'ER_DUP_ENTRY') throw new FrontUserError('exists', `user ${username} exists already`);
        throw err;
      }
      for (const teamId of teamIds) await this.conn.query('INSERT INTO `u$teams` (user_id, team_id) VALUES (?, ?)', [id, teamId]);
      return id;
    });
  }

  /**
   * Sets a user's password and ends its "remember me" logins (`u$tokens`),
   * as a password change should. With `onlyIfUnset`, a user that has a
   * password keeps it (returns false).
   */
  async setPassword(username: string, password: string, options: { onlyIfUnset?: boolean } = {}): Promise<boolean> {
    const passhash = await hashFrontPassword(password);
    return this.transaction(async () => {
      const [result] = await this.conn.query<ResultSetHeader>(
        `UPDATE \`u$users\` SET passhash = ? WHERE username = ?${options.onlyIfUnset ? " AND (passhash IS NULL OR passhash = '')" : ''}`,
        [passhash, username],
      );
      if (result.affectedRows === 0) {
        if (options.onlyIfUnset && (await this.find(username))) return false;
        throw new FrontUserError('unknown-user', `no user named ${username}`);
      }
      await this.conn.query('DELETE t FROM `u$tokens` t JOIN `u$users` u ON u.id = t.user_id WHERE u.username = ?', [username]);
      return true;
    });
  }

  async list(): Promise<FrontUser[]> {
    const [rows] = await this.conn.query<RowDataPacket[]>(
      `SELECT u.id, u.username, u.firstname, u.lastname,
              COALESCE(u.passhash, '') <> '' AS has_password,
              GROUP_CONCAT(t.name ORDER BY t.name SEPARATOR '\\n') AS teams,
              EXISTS (SELECT 1 FROM \`p$users_admin\` a WHERE a.user_id = u.id) AS admin
         FROM \`u$users\` u
         LEFT JOIN \`u$teams\` ut ON ut.user_id = u.id
         LEFT JOIN \`p$teams\` t ON t.id = ut.team_id
        GROUP BY u.id
        ORDER BY u.id`,
    );
    return rows.map((r) => ({
      id: Number(r.id),
      username: String(r.username),
      firstname: r.firstname ?? null,
      lastname: r.lastname ?? null,
      teams: r.teams ? String(r.teams).split('\n') : [],
      admin: Number(r.admin) === 1,
      hasPassword: Number(r.has_password) === 1,
    }));
  }

  private async teamIds(names: string[]): Promise<number[]> {
    if (names.length === 0) return [];
    const [rows] = await this.conn.query<RowDataPacket[]>('SELECT id, name FROM `p$teams` WHERE name IN (?)', [names]);
    const missing = names.filter((n) => !rows.some((r) => String(r.name).toLowerCase() === n.toLowerCase()));
    if (missing.length) {
      const [all] = await this.conn.query<RowDataPacket[]>('SELECT name FROM `p$teams` ORDER BY name');
      throw new FrontUserError('unknown-team', `no team named ${missing.join(', ')} (teams: ${all.map((r) => r.name).join(', ') || 'none'})`);
    }
    return rows.map((r) => Number(r.id));
  }

  private async transaction<T>(work: () => Promise<T>): Promise<T> {
    return inTransaction(this.conn, work);
  }
}
