-- 0007_poll_cost_issue5.sql
-- Measured cost of polling each agent, for balancing poll groups by cost
-- rather than by count (issue 5). Written by the worker with each poll's
-- outcome (the cursor transaction on success): a moving average of the poll's
-- duration in ms (fetch + store), so one slow poll does not move an agent.
ALTER TABLE `agt$state` ADD COLUMN IF NOT EXISTS `poll_ms` DOUBLE NULL AFTER `last_error`;
