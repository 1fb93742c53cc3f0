import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { emailOptionsSchema } from './email.js';

describe('email plugin: SMTP password from a file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'watched-smtp-secret-'));
  const passFile = join(dir, 'smtp-password');
  writeFileSync(passFile, 'smtp-s3cret\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const base = { host: 'smtp.example.org', from: 'watched@example.org', to: 'ops@example.org' };

  it('reads auth.passFile (a mounted Secret) instead of an inline auth.pass', () => {
    expect(emailOptionsSchema.parse({ ...base, auth: { user: 'watched', passFile } }).auth).toEqual({ user: 'watched', pass: 'smtp-s3cret' });
    expect(emailOptionsSchema.parse({ ...base, auth: { user: 'watched', pass: 'inline' } }).auth).toEqual({ user: 'watched', pass: 'inline' });
  });

  it('refuses both or neither, and an unreadable file, naming the field and never the secret', () => {
    const error = (auth: unknown) => {
      const result = emailOptionsSchema.safeParse({ ...base, auth });
      return result.success ? '' : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    };
    expect(error({ user: 'watched', pass: 'inline', passFile })).toMatch(/auth\.pass: give auth\.pass or auth\.passFile/);
    expect(error({ user: 'watched' })).toMatch(/auth\.pass: give/);
    const missing = error({ user: 'watched', passFile: join(dir, 'nope') });
    expect(missing).toMatch(/auth\.passFile: cannot read .*ENOENT/);
    expect(missing).not.toContain('smtp-s3cret');
  });
});
