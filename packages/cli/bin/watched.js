#!/usr/bin/env node
// Loading the modules takes a second or more on a busy machine. A SIGTERM or
// SIGINT meanwhile finds nothing opened yet: exit cleanly (0) rather than die
// by the signal. From then on the command's own handlers take over.
const exitEarly = () => process.exit(0);
process.on('SIGTERM', exitEarly);
process.on('SIGINT', exitEarly);
const { main, guardShutdownSignals } = await import('../dist/main.js');
// Not removed here: a signal that arrived while the modules were evaluated
// (synchronously, seconds on a busy machine) is dispatched only at the next
// turn of the event loop, and removing the last listener before then drops
// it: the process started as if never stopped. The guard stays until the
// command's own handling replaces it (guardShutdownSignals in core).
guardShutdownSignals(exitEarly);
await main(process.argv.slice(2));
