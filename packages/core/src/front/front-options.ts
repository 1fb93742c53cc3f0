import { z } from 'zod';
import { secretOption } from '../config/option-types.js';
import { frontPasswordProblem } from './front-password.js';

/** A password the front can store (length within bcrypt's limits); errors never quote it. */
export function frontPassword() {
  return z.string().superRefine((value, ctx) => {
    const problem = frontPasswordProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}

/** Options of the commands that migrate (`migrate`, `up`): the web front's first login. */
export const frontOptionsShape = {
  /** Or `--front-admin-password-file`, so the password is in neither the environment nor the command line. */
  ...secretOption(
    'frontAdminPassword',
    frontPassword().optional().describe("password of the web front's admin user when migrate creates it (default: generated and printed once)"),
  ),
};
