import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MigrationError } from '../errors.js';

export interface MigrationFile {
  /** The number the file name starts with; order of application. */
  version: number;
  /** File name, e.g. `0001_upstream_schema.sql`. */
  name: string;
  sql: string;
  /** sha256 of the content with line endings normalised. */
  checksum: string;
}

const FILE_NAME = /^(\d{4})_[a-z0-9_]+\.sql$/;

/** The repository's migrations/ folder, seen from this file (dist/schema or src/schema). */
export function defaultMigrationsDir(): string {
  return resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../../migrations');
}

export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex');
}

/** Reads and orders the numbered SQL files; refuses stray names and duplicate numbers. */
export function readMigrationFiles(dir: string = defaultMigrationsDir()): MigrationFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new MigrationError(`cannot read migrations folder ${dir}: ${(err as Error).message}`);
  }
  const files: MigrationFile[] = [];
  for (const name of names.filter((n) => n.endsWith('.sql')).sort()) {
    const match = FILE_NAME.exec(name);
    if (!match) throw new MigrationError(`migration file ${name} must be named NNNN_lowercase_words.sql`);
    const version = Number(match[1]);
    if (files.some((f) => f.version === version)) {
      throw new MigrationError(`two migration files carry number ${match[1]}`);
    }
    const sql = readFileSync(join(dir, name), 'utf8');
    files.push({ version, name, sql, checksum: checksumOf(sql) });
  }
  return files;
}
