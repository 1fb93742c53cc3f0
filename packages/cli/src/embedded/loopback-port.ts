import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Listens on 127.0.0.1:`port` for a moment: the port it got (0 picks a free one), or undefined when taken. */
function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const { port: got } = server.address() as { port: number };
      server.close(() => resolve(got));
    });
  });
}

/**
 * The loopback port a private server keeps in `file`: the one it had last
 * time, else `preferred`, else any free one (a port taken by something else
 * is not fought over; the server's data does not depend on its port).
 * Remembered once the server runs (`rememberPort`), so the next run and the
 * user's own clients find it at the same place.
 */
export async function choosePort(file: string, preferred: number): Promise<number> {
  const remembered = existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : undefined;
  for (const candidate of [remembered, preferred]) {
    if (candidate && Number.isInteger(candidate) && (await tryListen(candidate)) !== undefined) return candidate;
  }
  const any = await tryListen(0);
  if (any === undefined) throw new Error('no free port on 127.0.0.1');
  return any;
}

export function rememberPort(file: string, port: number): void {
  writeFileSync(file, `${port}\n`);
}
