import {
  createMysqlConnection,
  createRedis,
  describeError,
  withDatabase,
  type MysqlConnectionOptions,
  type RedisConnectionOptions,
} from '@watched/core';

/** Whether a server took a real connection (logged in, answered), and if not why. */
export type ProbeResult = { answers: true } | { answers: false; reason: string; error?: unknown };

/** `work`'s result, or "no answer" after `timeoutMs` (`work` then finishes, and cleans up, on its own). */
async function bounded(work: Promise<ProbeResult>, timeoutMs: number): Promise<ProbeResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(() => resolve({ answers: false, reason: `no answer within ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Logs in to the MySQL server of `target` (without its database unless `database`: migrate creates it). */
export function probeMysql(target: MysqlConnectionOptions, timeoutMs: number, { database = false } = {}): Promise<ProbeResult> {
  const attempt = (async (): Promise<ProbeResult> => {
    try {
      const conn = await createMysqlConnection(database ? target : withDatabase(target, undefined));
      await conn.end().catch(() => undefined);
      return { answers: true };
    } catch (err) {
      return { answers: false, reason: describeError(err), error: err };
    }
  })();
  return bounded(attempt, timeoutMs);
}

/** Connects once (no reconnect, so nothing floods the log) to the Redis of `target` and sends PING. */
export async function probeRedis(target: RedisConnectionOptions, timeoutMs: number): Promise<ProbeResult> {
  const client = createRedis(target, { connectionName: 'watched-probe', reconnect: false });
  let connectError: unknown;
  client.on('error', (err: Error) => (connectError ??= err));
  try {
    const attempt = client.ping().then(
      (): ProbeResult => ({ answers: true }),
      (err: unknown): ProbeResult => ({ answers: false, reason: describeError(connectError ?? err), error: connectError ?? err }),
    );
    return await bounded(attempt, timeoutMs);
  } finally {
    client.disconnect();
  }
}
