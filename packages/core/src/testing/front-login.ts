import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import type { Pool, RowDataPacket } from '../mysql.js';

/**
 * The web front's login, to check what watched writes against what the
 * front reads. The SQL is watched.front's own, copied from
 * classes/Containers/AuthContainer.php: `authenticate()` fetches the hash,
 * `isAdmin()` asks the permission view.
 */
const FRONT_AUTHENTICATE_SQL = 'select passhash, id from u$users where username = :login';
const FRONT_IS_ADMIN_SQL = 'select count(*) as cnt from p$users_admin where user_id=:uid';

/** What the front decides for a login attempt: whether it succeeds, and whether the user may open the admin pages. */
export interface FrontLoginOutcome {
  loggedIn: boolean;
  admin: boolean;
}

/** The front's login in Node: its SQL, then a bcrypt check (`password_verify`'s algorithm, bcryptjs). */
export async function frontLogin(pool: Pool, username: string, password: string): Promise<FrontLoginOutcome> {
  const [users] = await pool.query<RowDataPacket[]>(FRONT_AUTHENTICATE_SQL.replace(':login', '?'), [username]);
  const user = users[0];
  if (!user?.passhash || !(await bcrypt.compare(password, String(user.passhash)).catch(() => false))) return { loggedIn: false, admin: false };
  const [[admin]] = await pool.query<RowDataPacket[]>(FRONT_IS_ADMIN_SQL.replace(':uid', '?'), [user.id]);
  return { loggedIn: true, admin: Number(admin.cnt) > 0 };
}

/** The same login run by PHP itself (PDO and `password_verify`, as the front runs it); needs Debian's php-cli and php-mysql. */
export async function frontLoginWithPhp(mysqlUrl: string, username: string, password: string): Promise<FrontLoginOutcome> {
  const url = new URL(mysqlUrl);
  const script = `
    [, $host, $port, $user, $pass, $db, $login, $password] = $argv;
    $pdo = new PDO("mysql:host=$host;port=$port;dbname=$db", $user, $pass, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
    $s = $pdo->prepare('${FRONT_AUTHENTICATE_SQL}');
    $s->bindParam(':login', $login, PDO::PARAM_STR);
    $s->execute();
    $ok = false; $admin = false;
    if ($r = $s->fetch()) {
      if (password_verify($password, $r['passhash'] ?? '')) {
        $ok = true;
        $a = $pdo->prepare('${FRONT_IS_ADMIN_SQL}');
        $a->bindParam(':uid', $r['id'], PDO::PARAM_INT);
        $a->execute();
        $admin = $a->fetch()['cnt'] > 0;
      }
    }
    echo json_encode(['loggedIn' => $ok, 'admin' => $admin]);`;
  const args = [url.hostname, url.port || '3306', decodeURIComponent(url.username), decodeURIComponent(url.password), url.pathname.slice(1), username, password];
  const { stdout } = await promisify(execFile)('php', ['-r', script, '--', ...args]);
  return JSON.parse(stdout) as FrontLoginOutcome;
}
