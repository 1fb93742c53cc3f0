import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { loadOptions } from '../config/load-options.js';
import { createLogger } from '../logger.js';
import { AdminServer } from './admin-server.js';
import { ADMIN_PATHS, adminOptionsShapeFor, DEFAULT_ADMIN_PORT } from './admin-options.js';

/** The admin surface: localhost by default, read-only, its token from a mounted file, never echoed. */
describe('admin surface security', () => {
  const dir = mkdtempSync(join(tmpdir(), 'watched-admin-secret-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const Schema = z.object(adminOptionsShapeFor(DEFAULT_ADMIN_PORT));

  it('binds localhost unless told otherwise', () => {
    expect(loadOptions(Schema, {}).adminListen).toMatch(/^127\.0\.0\.1:/);
  });

  it('takes the token from a file; no method but GET/HEAD is served anywhere, token or not', async () => {
    const tokenFile = join(dir, 'admin-token');
    writeFileSync(tokenFile, 'from-a-mounted-secret\n');
    const options = loadOptions(Schema, { env: { WATCHED_ADMIN_LISTEN: '127.0.0.1:0', WATCHED_ADMIN_TOKEN_FILE: tokenFile } });
    expect(options.adminToken).toBe('from-a-mounted-secret');
    const admin = new AdminServer(options, { logger: createLogger({ silent: true }) });
    await admin.start();
    try {
      const { url } = admin.address();
      const auth = { authorization: 'Bearer from-a-mounted-secret' };
      for (const path of [...Object.values(ADMIN_PATHS), '/', '/reload', '/shutdown', '/config']) {
        for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
          for (const headers of [{}, auth]) {
            const res = await fetch(url + path, { method, headers, body: method === 'DELETE' ? undefined : '{}' });
            expect([path, method, res.status]).toEqual([path, method, 405]);
            expect(await res.text()).not.toContain('from-a-mounted-secret');
          }
        }
      }
      expect((await fetch(url + ADMIN_PATHS.metrics)).status).toBe(401);
      expect((await fetch(url + ADMIN_PATHS.metrics, { headers: auth })).status).toBe(200);
    } finally {
      await admin.close();
    }
  });
});
