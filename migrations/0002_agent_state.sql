-- 0002_agent_state.sql
-- Per-agent polling state that upstream kept in memory. `since` is the agent's
-- /all cursor: it advances in the same transaction as the rows of the poll that
-- read it, so rows are stored if and only if the cursor moved (design.md).
CREATE TABLE IF NOT EXISTS `agt$state` (
  `agt_id`               INT UNSIGNED NOT NULL,
  `since`                DOUBLE NULL,
  `last_poll`            DOUBLE NULL,
  `last_ok`              DOUBLE NULL,
  `consecutive_failures` INT UNSIGNED NOT NULL DEFAULT 0,
  `last_error`           VARCHAR(1024) NULL,
  PRIMARY KEY (`agt_id`),
  CONSTRAINT `fk_agtState_id` FOREIGN KEY (`agt_id`) REFERENCES `c$agents` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
