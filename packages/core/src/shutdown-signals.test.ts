import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CORE = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/**
 * A process as bin/watched.js runs it: a loading guard, a SIGTERM delivered
 * while the modules evaluate synchronously (dispatched only at the next turn
 * of the event loop), then the hand-over to the command's own handling.
 * Prints what handled the signal, or that it was lost.
 */
function run(handOver: string): string {
  const script = `
    const core = await import(${JSON.stringify(CORE)});
    const guard = () => { console.log('loading guard'); process.exit(0); };
    process.on('SIGTERM', guard);
    process.kill(process.pid, 'SIGTERM');
    const t = Date.now(); while (Date.now() - t < 100) {}
    ${handOver}
    setTimeout(() => console.log('lost'), 1000);
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  return [result.stdout.trim(), result.signal ? `killed by ${result.signal}` : ''].filter(Boolean).join('\n');
}

describe('shutdown signals from loading to the command', () => {
  it('drops a delivered SIGTERM when the last listener is removed before it is dispatched (why the hand-over exists)', () => {
    expect(run(`process.off('SIGTERM', guard);`)).toBe('lost');
  });

  it('hands a SIGTERM delivered while loading to the guard, never dropping it', () => {
    expect(run(`core.guardShutdownSignals(guard);`)).toBe('loading guard');
  });

  it('once the command runs, a SIGTERM ends the process by the signal until the command handles it', () => {
    expect(run(`core.guardShutdownSignals(guard); core.shutdownSignalsToCommand();`)).toBe('killed by SIGTERM');
  });

  it('a long-running command takes a SIGTERM delivered before it installed its handling: stop once started', () => {
    const logger = `{ info: (m) => console.log(m), warn: (m) => console.log(m), error: (m) => console.log(m), debug: () => undefined }`;
    const out = run(`core.guardShutdownSignals(guard); core.shutdownSignalsToCommand(); core.cleanUpOnStartupSignal(${logger});
      await new Promise((r) => setTimeout(r, 50)); // start-up work (probes, the admin server)
      await core.runServices([], { logger: ${logger} }); process.exit(0);`);
    expect(out).toBe(['SIGTERM received while starting: stopping once started (again to stop at once)', 'stopping (SIGTERM)', 'stopped'].join('\n'));
  });
});
