export { parseHostPort } from './commands/agents.js';
export { parseListen } from './commands/sim.js';
export { upOptionsShape } from './commands/up-options.js';
