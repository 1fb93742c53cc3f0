export { parseHostPort } from '@watched/core';
export { parseListen } from './commands/sim.js';
export { upOptionsShape } from './commands/up-options.js';
