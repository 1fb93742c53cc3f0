-- 0005_cluster.sql
-- The highest term of each lease (the coordinator's leader, the active
-- aggregator), so that a term never goes back after Redis restarts empty:
-- a new term is max(redis counter, this row) + 1, and is recorded here before
-- its holder acts. The row only ever moves forward (a GREATEST upsert), so a
-- deposed holder that tries to record an older or equal term is refused.
-- Membership (who is alive) is kept in Redis heartbeats: it is rebuilt within
-- one heartbeat after a Redis restart and needs no history.
CREATE TABLE IF NOT EXISTS `c$leases` (
  `name`        VARCHAR(128) NOT NULL,
  `term`        BIGINT UNSIGNED NOT NULL,
  `node_id`     VARCHAR(255) NOT NULL,
  `acquired_at` DOUBLE NOT NULL,
  PRIMARY KEY (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
