import { describe, expect, it } from '@jest/globals';
import { captureLogger } from './testing/log-capture.js';
import { OutageTracker } from './outage-tracker.js';

const recordingLogger = () => captureLogger('json');

describe('outage tracker', () => {
  it('says an outage once when it starts, sums it up at most every 30 s, and once when every failing client is back', () => {
    let now = 1_000_000;
    const { logger, lines } = recordingLogger();
    const tracker = new OutageTracker({ dependency: 'Redis', target: '127.0.0.1:6390', logger, now: () => now });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' });
    // Three clients retrying every 200 ms for 100 s: 1,500 failures.
    for (let i = 0; i < 500; i++) {
      for (const client of ['commands', 'consumer', 'consumer-dup']) tracker.failure(client, refused);
      now += 200;
    }
    tracker.recovered('commands');
    tracker.recovered('consumer');
    expect(tracker.down).toBe(true);
    tracker.recovered('consumer-dup');
    expect(tracker.down).toBe(false);
    const messages = lines().map((l) => `${String(l.level)} ${String(l.message)}`);
    expect(messages).toEqual([
      'error Redis at 127.0.0.1:6390 is unreachable: connect ECONNREFUSED 127.0.0.1:6390',
      'warn Redis at 127.0.0.1:6390 still unreachable after 30 s: 451 failed attempts, last error: connect ECONNREFUSED 127.0.0.1:6390',
      'warn Redis at 127.0.0.1:6390 still unreachable after 60 s: 901 failed attempts, last error: connect ECONNREFUSED 127.0.0.1:6390',
      'warn Redis at 127.0.0.1:6390 still unreachable after 90 s: 1351 failed attempts, last error: connect ECONNREFUSED 127.0.0.1:6390',
      'info Redis at 127.0.0.1:6390 is reachable again after 100 s (1500 failed attempts)',
    ]);
    // A client closed while failing ends nothing and says nothing.
    tracker.failure('a', refused);
    tracker.forget('a');
    expect(tracker.down).toBe(false);
    expect(lines()).toHaveLength(6);
  });
});
