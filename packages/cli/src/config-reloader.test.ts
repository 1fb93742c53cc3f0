import { describe, expect, it } from '@jest/globals';
import { ConfigError, createLogger, type Reloadable } from '@watched/core';
import { ConfigReloader } from './config-reloader.js';

interface Options {
  logLevel: string;
  interval: number;
  routes: string[];
  poolSize: number;
}

/** A part that takes `interval` live, as a role's reload does. */
class Ticker implements Reloadable<Options> {
  interval = 1000;
  reload(options: Options) {
    this.interval = options.interval;
    return ['interval'];
  }
}

/** A part that checks what it takes and refuses the lot (as the alerter's routes naming an unknown receiver). */
class Router implements Reloadable<Options> {
  routes = ['ops'];
  reload(options: Options) {
    const unknown = options.routes.find((r) => r !== 'ops' && r !== 'chat');
    if (unknown) throw new ConfigError('routes', `unknown receiver ${unknown}`);
    this.routes = options.routes;
    return ['routes'];
  }
}

describe('ConfigReloader', () => {
  const logger = createLogger({ silent: true });
  const initial: Options = { logLevel: 'info', interval: 1000, routes: ['ops'], poolSize: 4 };

  it('applies what the parts take, names the rest as needing a restart until the process restarts', async () => {
    let file: Options = { ...initial, interval: 500, poolSize: 8 };
    const ticker = new Ticker();
    const reloader = new ConfigReloader<Options>(initial, () => file, [ticker, new Router()], logger);
    expect(await reloader.reload('SIGHUP')).toEqual({ applied: ['interval'], needRestart: ['poolSize'], errors: [] });
    expect(ticker.interval).toBe(500);
    expect(reloader.current).toEqual({ ...initial, interval: 500 }); // poolSize still runs with 4
    // named again: the process still runs with the old value
    expect(await reloader.reload('SIGHUP')).toEqual({ applied: [], needRestart: ['poolSize'], errors: [] });
    file = { ...file, poolSize: 4 };
    expect(await reloader.reload('SIGUSR1')).toEqual({ applied: [], needRestart: [], errors: [] });
  });

  it('refuses an invalid configuration as a whole, and a part can refuse its share', async () => {
    const ticker = new Ticker();
    const router = new Router();
    let resolve: () => Options = () => {
      throw new ConfigError('interval', 'expected a duration');
    };
    const reloader = new ConfigReloader<Options>(initial, () => resolve(), [ticker, router], logger);
    expect(await reloader.reload('SIGHUP')).toEqual({ applied: [], needRestart: [], errors: ['invalid option interval: expected a duration'] });
    expect(reloader.current).toBe(initial);

    resolve = () => ({ ...initial, interval: 200, routes: ['ops', 'pager'] });
    const report = await reloader.reload('SIGHUP');
    expect(report.errors).toEqual(['invalid option routes: unknown receiver pager']);
    expect(report.applied).toEqual(['interval']);
    expect(report.needRestart).toEqual(['routes']); // not applied: the running value stays, and is compared again next time
    expect(router.routes).toEqual(['ops']); // kept its running routes
    expect(reloader.current.routes).toEqual(['ops']);
    expect(ticker.interval).toBe(200);
  });
});
