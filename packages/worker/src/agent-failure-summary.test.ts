import { describe, expect, it } from '@jest/globals';
import { captureLogger } from '@watched/core/testing';
import { AgentFailureSummary } from './agent-failure-summary.js';

describe('failed agents of a job', () => {
  it('are one warning with counts by reason and a few names, however many failed', () => {
    const { logger, lines: logged } = captureLogger('json');
    const summary = new AgentFailureSummary();
    for (let i = 0; i < 5000; i++) summary.add(`host-${i}:9080`, i % 5 === 0 ? 'refused' : 'timeout');
    summary.log(logger, 'group f60-g1 slot 60000', 5000);
    new AgentFailureSummary().log(logger, 'group f60-g2 slot 60000', 10); // nothing failed: nothing said
    const lines = logged();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'warn',
      message: 'group f60-g1 slot 60000: 5000 of 5000 agents could not be polled: timeout 4000 (host-1:9080, host-2:9080, host-3:9080, ...); refused 1000 (host-0:9080, host-5:9080, host-10:9080, ...)',
      failedAgents: 5000,
      byReason: { timeout: 4000, refused: 1000 },
    });
  });
});
