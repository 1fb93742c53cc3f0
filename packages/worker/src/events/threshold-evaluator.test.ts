import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { evaluate, type RuleState } from './threshold-evaluator.js';

const fresh: RuleState = { lastTs: null, pendingSince: null, open: null };
const samples = (values: Array<number | null>, start = 1000, step = 5000) =>
  values.map((value, i) => ({ timestamp: start + i * step, value }));
const rule = { oper: '>' as const, value: 90, forMs: null, recoveryValue: null };

describe('evaluate (threshold rules)', () => {
  it('opens at the first crossing sample, follows the value, closes when it comes back', () => {
    const { events, state } = evaluate(rule, fresh, samples([10, 95, 97, 50, 20]));
    expect(events).toEqual([{ startTime: 6000, endTime: 16000, currentValue: 97 }]);
    expect(state).toEqual({ lastTs: 21000, pendingSince: null, open: null });
  });

  it('keeps an event open across polls and closes it later', () => {
    const first = evaluate(rule, fresh, samples([95, 96]));
    expect(first.state.open).toEqual({ startTime: 1000, endTime: null, currentValue: 96 });
    const stored = { ...first.state, open: { ...first.state.open!, id: 7 } };
    const second = evaluate(rule, stored, samples([98, 40], 11_000));
    expect(second.events).toEqual([{ id: 7, startTime: 1000, endTime: 16_000, currentValue: 98 }]);
  });

  it('ignores samples it has already seen: a replayed poll changes nothing', () => {
    const first = evaluate(rule, fresh, samples([10, 95, 97]));
    const replay = evaluate(rule, first.state, samples([10, 95, 97]));
    expect(replay.state).toEqual(first.state);
    expect(replay.events).toEqual(first.state.open ? [first.state.open] : []);
  });

  it('waits for the `for` duration before opening, from the first crossing', () => {
    const withFor = { ...rule, forMs: 10_000 };
    expect(evaluate(withFor, fresh, samples([95, 95])).events).toEqual([]); // held 5 s only
    const held = evaluate(withFor, fresh, samples([95, 95, 95, 95]));
    expect(held.events).toEqual([{ startTime: 1000, endTime: null, currentValue: 95 }]);
    const interrupted = evaluate(withFor, fresh, samples([95, 95, 10, 95, 95]));
    expect(interrupted.events).toEqual([]);
    expect(interrupted.state.pendingSince).toBe(16_000);
  });

  it('closes only past the recovery value (no flapping around the limit)', () => {
    const hysteresis = { oper: '<' as const, value: 25, forMs: null, recoveryValue: 30 };
    const { events } = evaluate(hysteresis, fresh, samples([20, 26, 24, 29, 31, 24]));
    expect(events).toEqual([
      { startTime: 1000, endTime: 21_000, currentValue: 29 },
      { startTime: 26_000, endTime: null, currentValue: 24 },
    ]);
    const upstream = evaluate({ ...hysteresis, recoveryValue: null }, fresh, samples([20, 26, 24, 29, 31, 24]));
    expect(upstream.events).toHaveLength(3);
  });

  it('treats NULL (the agent NaN) as no information', () => {
    const { events } = evaluate(rule, fresh, samples([95, null, null, 96]));
    expect(events).toEqual([{ startTime: 1000, endTime: null, currentValue: 96 }]);
  });

  it('never has more than one open event, and spans never overlap', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.integer({ min: 0, max: 100 }), { nil: null }), { maxLength: 60 }), fc.integer({ min: 1, max: 5 }), (values, cut) => {
        // Split the samples into polls: the outcome must not depend on how they were split.
        const all = samples(values);
        const whole = evaluate(rule, fresh, all);
        let state = fresh;
        const spans: Array<{ startTime: number; endTime: number | null }> = [];
        for (let i = 0; i < all.length; i += cut) {
          const r = evaluate(rule, state, all.slice(i, i + cut));
          for (const e of r.events) if (e.endTime !== null) spans.push({ startTime: e.startTime, endTime: e.endTime });
          state = r.state;
        }
        if (state.open) spans.push({ startTime: state.open.startTime, endTime: null });
        expect(spans).toEqual(whole.events.map((e) => ({ startTime: e.startTime, endTime: e.endTime })));
        expect(spans.filter((s) => s.endTime === null).length).toBeLessThanOrEqual(1);
        for (let i = 1; i < spans.length; i++) expect(spans[i].startTime).toBeGreaterThan(spans[i - 1].endTime!);
      }),
    );
  });
});
