import { describe, expect, it } from '@jest/globals';
import { createLogger, IllegalStateError } from '@watched/core';
import { Aggregator } from './aggregator.js';

describe('Aggregator (placeholder role)', () => {
  it('starts once and closes idempotently', async () => {
    const aggregator = new Aggregator(createLogger({ silent: true }));
    await aggregator.start();
    await expect(aggregator.start()).rejects.toBeInstanceOf(IllegalStateError);
    await aggregator.close();
    await aggregator.close();
  });
});
