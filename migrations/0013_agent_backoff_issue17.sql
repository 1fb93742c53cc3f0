-- 0013_agent_backoff_issue17.sql
-- Slow and hanging agents leave the hot path (issue 17, item 2). `slow_polls`
-- counts the agent's consecutive polls not answered within its job's
-- deadline; while it is above 0 the agent is polled by the worker's slow lane
-- (outside the job, so it holds back no healthy agent), not before
-- `retry_at` (epoch ms): a backed-off schedule with jitter, capped by
-- --agent-backoff-max. A poll answered in time sets both back (0, NULL).
ALTER TABLE `agt$state`
  ADD COLUMN IF NOT EXISTS `slow_polls` INT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS `retry_at` DOUBLE NULL;
