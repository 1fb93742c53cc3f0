-- 0008_agents_probe_index_issue10.sql
-- A covering index for the leader's change probe of `c$agents` (issue 10):
-- the probe reads (id, pool_freq) of every agent each refresh, and through
-- this index (the primary key rides along in it) it reads about a fifth of
-- the pages the clustered index holds (host names and all). With a million
-- agents and the default 128 MB buffer pool shared with the data tables, that
-- kept the probe at 0.2-0.3 s instead of 0.7-0.8 s of disk reads
-- (bench/README.md, scenario schedule). The web front never sees it.
ALTER TABLE `c$agents` ADD INDEX IF NOT EXISTS `agent_probe` (`pool_freq`);
