// Preloaded into a role (NODE_OPTIONS=--import=<this file>) by `--profile=1`:
// Node refuses `--cpu-prof` in NODE_OPTIONS, so the profile is taken through
// the inspector and written as <WATCHED_CPU_PROFILE_DIR>/<pid>.cpuprofile
// when the process exits (open it in Chrome DevTools or speedscope). SIGUSR2
// restarts it, so it covers from that signal to the exit.
import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';

const dir = process.env.WATCHED_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  // SIGUSR2 restarts the profile (what came before is dropped): the bench sends it when its measuring
  // window opens, so the profile shows the steady state rather than the warm-up (discovery, inventory).
  process.on('SIGUSR2', () => {
    session.post('Profiler.stop', () => session.post('Profiler.start'));
  });
  // A session of the same thread answers synchronously, so this works in 'exit'.
  process.on('exit', () => {
    session.post('Profiler.stop', (err, result) => {
      if (err) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${dir}/${process.pid}.cpuprofile`, JSON.stringify(result.profile));
    });
  });
}
