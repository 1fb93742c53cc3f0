-- 0006_alerting.sql
-- The alerter's records. Events arrive at least once (BullMQ, retried polls);
-- these tables make each (event, transition) produce one notification per
-- receiver, keep what was silenced, and hold undelivered notifications while
-- a plugin (an SMTP server, a webhook) is down.

-- One row per event transition the alerter has seen: the dedup ledger. The
-- event fields are stored as they were when it arrived (names, not ids), so a
-- message can be built later even if the host is deleted meanwhile.
CREATE TABLE IF NOT EXISTS `c$alert_events` (
  `event_table`  VARCHAR(64) NOT NULL,
  `event_id`     INT UNSIGNED NOT NULL,
  `transition`   ENUM('opened', 'closed') NOT NULL,
  `kind`         VARCHAR(32) NOT NULL,
  `event_time`   DOUBLE NOT NULL,
  `received_at`  DOUBLE NOT NULL,
  `host`         VARCHAR(256) NULL,
  `service`      VARCHAR(256) NULL,
  `res_type`     VARCHAR(256) NULL,
  `severity`     VARCHAR(256) NULL,
  -- the silence that matched when it arrived (recorded, not sent); NULL otherwise
  `silence_id`   INT UNSIGNED NULL,
  `payload`      MEDIUMTEXT NOT NULL,
  PRIMARY KEY (`event_table`, `event_id`, `transition`),
  KEY `alert_events_received_i` (`received_at`),
  KEY `alert_events_silence_i` (`silence_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per (event transition, receiver): the outbox. `sent_at` is set once
-- the receiver's plugin accepted the message that carried it; `claim` is the
-- delivery job holding it (while sending and between its retries) until
-- `held_until`, after which another job may take it (a crashed alerter, a
-- Redis restart); `failed_at` once that job used up its attempts (kept,
-- visible, no longer retried automatically). `round` is 0 for the transition
-- itself and n for the nth reminder of a still-open event.
CREATE TABLE IF NOT EXISTS `c$alert_deliveries` (
  `id`          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `event_table` VARCHAR(64) NOT NULL,
  `event_id`    INT UNSIGNED NOT NULL,
  `transition`  ENUM('opened', 'closed') NOT NULL,
  `receiver`    VARCHAR(320) NOT NULL,
  `round`       INT UNSIGNED NOT NULL DEFAULT 0,
  `created_at`  DOUBLE NOT NULL,
  `claim`       VARCHAR(190) NULL,
  `held_until`  DOUBLE NULL,
  `attempts`    INT UNSIGNED NOT NULL DEFAULT 0,
  `last_error`  VARCHAR(1024) NULL,
  `sent_at`     DOUBLE NULL,
  `failed_at`   DOUBLE NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `alert_deliveries_u` (`event_table`, `event_id`, `transition`, `receiver`, `round`),
  KEY `alert_deliveries_pending_i` (`receiver`, `sent_at`, `failed_at`),
  KEY `alert_deliveries_created_i` (`sent_at`, `created_at`),
  CONSTRAINT `fk_alertDeliveries_event` FOREIGN KEY (`event_table`, `event_id`, `transition`)
    REFERENCES `c$alert_events` (`event_table`, `event_id`, `transition`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Silences and maintenance windows. NULL matches anything; host, service and
-- res_type accept `*` wildcards; severity is a c$event_types name (any case);
-- kind is threshold, agent-failed, host-missing, service-failed, service-missing.
-- Active while starts_at <= event arrival < ends_at (epoch ms).
CREATE TABLE IF NOT EXISTS `c$alert_silences` (
  `id`         INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host`       VARCHAR(256) NULL,
  `service`    VARCHAR(256) NULL,
  `res_type`   VARCHAR(256) NULL,
  `severity`   VARCHAR(256) NULL,
  `kind`       VARCHAR(32) NULL,
  `starts_at`  DOUBLE NOT NULL,
  `ends_at`    DOUBLE NOT NULL,
  `comment`    VARCHAR(1024) NULL,
  `created_by` VARCHAR(256) NULL,
  `created_at` DOUBLE NOT NULL,
  PRIMARY KEY (`id`),
  KEY `alert_silences_active_i` (`ends_at`, `starts_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
