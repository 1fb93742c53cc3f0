-- 0004_events.sql
-- Threshold events that stay exact under retries and concurrent workers, rule
-- options beyond upstream, and the failure events upstream left as TODO.

-- Which rule opened an event (NULL for events written by watched.back), and a
-- key that allows at most one OPEN event per (owner, resource, rule): the
-- generated column is NULL once the event is closed, and NULLs never collide.
ALTER TABLE `h$res_events`
  ADD COLUMN IF NOT EXISTS `rule_id` INT UNSIGNED NULL,
  ADD COLUMN IF NOT EXISTS `open_rule` INT UNSIGNED AS (IF(`end_time` IS NULL, `rule_id`, NULL)) PERSISTENT,
  ADD UNIQUE KEY IF NOT EXISTS `host_events_one_open_u` (`host_id`, `res_id`, `open_rule`);
ALTER TABLE `s$res_events`
  ADD COLUMN IF NOT EXISTS `rule_id` INT UNSIGNED NULL,
  ADD COLUMN IF NOT EXISTS `open_rule` INT UNSIGNED AS (IF(`end_time` IS NULL, `rule_id`, NULL)) PERSISTENT,
  ADD UNIQUE KEY IF NOT EXISTS `services_events_one_open_u` (`serv_id`, `res_id`, `open_rule`);

-- Optional per rule (NULL keeps upstream behaviour):
--  for_ms: the condition must hold this long (sample time) before the event opens;
--  recovery_value: the event closes only when the value no longer satisfies
--  `oper recovery_value` (hysteresis, e.g. pctfree < 25 opens, closes at >= 30).
ALTER TABLE `h$event_factory`
  ADD COLUMN IF NOT EXISTS `for_ms` DOUBLE NULL,
  ADD COLUMN IF NOT EXISTS `recovery_value` DOUBLE NULL;
ALTER TABLE `s$event_factory`
  ADD COLUMN IF NOT EXISTS `for_ms` DOUBLE NULL,
  ADD COLUMN IF NOT EXISTS `recovery_value` DOUBLE NULL;

-- Evaluation state per (owner, resource, rule): the newest sample evaluated
-- (older or repeated samples are skipped, so a replayed poll changes nothing)
-- and since when the condition holds while a `for_ms` delay runs.
CREATE TABLE IF NOT EXISTS `c$threshold_state` (
  `scope`         ENUM('host', 'service') NOT NULL,
  `owner_id`      INT UNSIGNED NOT NULL,
  `res_id`        INT UNSIGNED NOT NULL,
  `rule_id`       INT UNSIGNED NOT NULL,
  `last_ts`       DOUBLE NOT NULL,
  `pending_since` DOUBLE NULL,
  PRIMARY KEY (`scope`, `owner_id`, `res_id`, `rule_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

-- An agent that failed N consecutive polls (upstream TODO). Opened by the
-- worker at the Nth failure, closed by the first good poll.
CREATE TABLE IF NOT EXISTS `agt$events` (
  `id`         INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `agt_id`     INT UNSIGNED NOT NULL,
  `start_time` DOUBLE NOT NULL,
  `end_time`   DOUBLE NULL,
  `failures`   INT UNSIGNED NOT NULL,
  `reason`     VARCHAR(1024) NOT NULL,
  -- 1 while open, NULL once closed: at most one open event per agent. (agt_id itself
  -- cannot feed a generated column: it has an ON UPDATE CASCADE foreign key.)
  `open_flag`  TINYINT AS (IF(`end_time` IS NULL, 1, NULL)) PERSISTENT,
  PRIMARY KEY (`id`),
  UNIQUE KEY `agent_events_one_open_u` (`agt_id`, `open_flag`),
  KEY `agent_events_agent_i` (`agt_id`, `start_time`),
  CONSTRAINT `fk_agtEvents_id` FOREIGN KEY (`agt_id`) REFERENCES `c$agents` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

-- Since when the agent's current run of failed polls lasts (start of its event).
ALTER TABLE `agt$state` ADD COLUMN IF NOT EXISTS `failing_since` DOUBLE NULL;

-- Hosts each agent reports (upstream had no such link), for host-missing detection.
CREATE TABLE IF NOT EXISTS `agt$hosts` (
  `agt_id`    INT UNSIGNED NOT NULL,
  `host_id`   INT UNSIGNED NOT NULL,
  `last_seen` DOUBLE NOT NULL,
  PRIMARY KEY (`agt_id`, `host_id`),
  CONSTRAINT `fk_agtHosts_agent` FOREIGN KEY (`agt_id`) REFERENCES `c$agents` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT `fk_agtHosts_host` FOREIGN KEY (`host_id`) REFERENCES `h$hosts` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

-- Host missing (its agent answers, its data stopped), service failed (a process
-- or socket not ok) and service missing (no longer reported for longer than the
-- limit): upstream TODOs. owner_id is a host id or a service id by kind.
CREATE TABLE IF NOT EXISTS `c$state_events` (
  `id`         INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `kind`       ENUM('host-missing', 'service-failed', 'service-missing') NOT NULL,
  `owner_id`   INT UNSIGNED NOT NULL,
  `start_time` DOUBLE NOT NULL,
  `end_time`   DOUBLE NULL,
  `detail`     VARCHAR(1024) NULL,
  `open_flag`  TINYINT AS (IF(`end_time` IS NULL, 1, NULL)) PERSISTENT,
  PRIMARY KEY (`id`),
  UNIQUE KEY `state_events_one_open_u` (`kind`, `owner_id`, `open_flag`),
  KEY `state_events_time_i` (`start_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
