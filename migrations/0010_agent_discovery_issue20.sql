-- 0010_agent_discovery_issue20.sql
-- Agent discovery (issue 20). The web front's `c$agents` keeps its upstream
-- columns: which agents discovery owns lives here, one row per agent the
-- coordinator's leader added from a source (file, dns, http). An agent without
-- a row was added by hand or by the front, and discovery never touches it.
--
-- A retired agent (every source dropped it for longer than the grace period)
-- stays in `c$agents`, so its poll history (`agt$history` cascades on delete)
-- and cursor are kept, and is no longer scheduled; a source listing it again
-- revives it under the same id. Removing the agent by hand removes this row
-- with it (cascade), and a source still listing it adds it afresh.
CREATE TABLE IF NOT EXISTS `agt$discovery` (
  `agent_id`   INT UNSIGNED NOT NULL,
  -- The sources listing it now (or, once dropped, the last ones that did), space-separated, e.g. `dns:agents.monitoring.svc:9080`.
  `sources`    VARCHAR(2048) NOT NULL,
  -- Labels the source gave (JSON object), shown by `watched agents list --json`.
  `labels`     TEXT NULL,
  `first_seen` DOUBLE NOT NULL,
  -- When the last source stopped listing it; NULL while a source lists it.
  `dropped_at` DOUBLE NULL,
  -- When it was retired (no longer polled); NULL while active.
  `retired_at` DOUBLE NULL,
  -- Leader term of the last write (fencing: c$leases holds the current one).
  `term`       BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (`agent_id`),
  KEY `discovery_retired` (`retired_at`),
  CONSTRAINT `fk_agtDiscovery_id` FOREIGN KEY (`agent_id`) REFERENCES `c$agents` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

-- Agents registered through the admin server (`POST /api/agents`): the `http`
-- source's listing, in MySQL so that any coordinator replica can take a
-- registration and every leader after it sees the same list.
CREATE TABLE IF NOT EXISTS `agt$registrations` (
  `host`          VARCHAR(256) NOT NULL,
  `port`          INT UNSIGNED NOT NULL,
  `pool_freq`     INT UNSIGNED NULL,
  `use_ssl`       BOOLEAN NULL,
  `labels`        TEXT NULL,
  `registered_at` DOUBLE NOT NULL,
  PRIMARY KEY (`host`, `port`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
