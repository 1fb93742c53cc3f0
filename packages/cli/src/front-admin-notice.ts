import { FRONT_ADMIN_USER, type FrontAdminSeedResult } from '@watched/core';

/**
 * Shows the password `migrate` generated for the front's admin user, on
 * stdout and not through the logger: it must not end up in a log file or a
 * log collector, and it is shown this one time (the next run finds the user
 * and generates nothing).
 */
export function printFrontAdminNotice(result: FrontAdminSeedResult, out: NodeJS.WritableStream = process.stdout): void {
  if (!result.generatedPassword) return;
  out.write(
    `\nweb front (watched.front) login: user ${FRONT_ADMIN_USER}, password ${result.generatedPassword}\n` +
      `  generated now and shown only this once; change it with \`watched users passwd ${FRONT_ADMIN_USER}\`\n\n`,
  );
}
