#!/usr/bin/env node
// Loading the modules takes a second or more on a busy machine. A SIGTERM or
// SIGINT meanwhile finds nothing opened yet: exit cleanly (0) rather than die
// by the signal. From then on the command's own handlers take over.
const exitEarly = () => process.exit(0);
process.on('SIGTERM', exitEarly);
process.on('SIGINT', exitEarly);
const { main } = await import('../dist/main.js');
process.off('SIGTERM', exitEarly);
process.off('SIGINT', exitEarly);
await main(process.argv.slice(2));
