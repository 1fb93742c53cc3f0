import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';

/** The first of `names` found as an executable file in the folders of `path`, searched in order. */
export function findProgram(names: readonly string[], path: readonly string[]): string | undefined {
  for (const dir of path) {
    for (const name of names) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        if (statSync(candidate).isFile()) return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}
