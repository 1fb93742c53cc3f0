-- 0001_upstream_schema.sql
-- The schema of sebt3/watched.back (sql/schema.sql at its last commit), re-typed
-- for MariaDB 10.11 / MySQL 8, InnoDB, utf8mb4, so that sebt3/watched.front keeps
-- working on the data written by watched.
--
-- Safe to run more than once on the same database: CREATE TABLE IF NOT EXISTS,
-- CREATE OR REPLACE VIEW, INSERT IGNORE / INSERT ... WHERE NOT EXISTS.
-- Plain ';'-terminated statements (no DELIMITER, no routines, no triggers).
--
-- Differences with upstream (on purpose):
--  * every time column is epoch milliseconds as DOUBLE (upstream: DOUBLE(20,4));
--    metric/threshold values are DOUBLE (upstream: DOUBLE(20,4));
--  * agt$history, b$history, s$history get a PRIMARY KEY (owner, timestamp);
--    s$process / s$sockets get a PRIMARY KEY (serv_id, name)
--    (upstream: the same columns as a UNIQUE index, no primary key);
--  * h$event_factory / s$event_factory get an AUTO_INCREMENT `id` primary key
--    (upstream: no key at all), so that a rule can be referenced;
--  * p$apps primary key is (app_id, team_id, role_id) (upstream forgot app_id);
--  * h$hosts.domain_id is unsigned with a FK to c$domains ON DELETE SET NULL,
--    s$services.type_id has a FK to s$types ON DELETE SET NULL
--    (upstream: no FK, a deleted domain left hosts pointing nowhere);
--  * c$ressources.name/origin/data_type use a binary collation (case-sensitive,
--    like the d$<data_type> table names they map to);
--  * views: s$missing groups by every selected column, c$data_sizes counts each
--    index column once, no double-quoted literals (ANSI_QUOTES and
--    ONLY_FULL_GROUP_BY safe).
-- d$ / am$ / ah$ / ad$ tables are NOT created here: the worker creates them.

-- ---------------------------------------------------------------------------
-- Catalogue
-- ---------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS `c$agents` (
  `id`         INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host`       VARCHAR(256) NOT NULL,
  `port`       INT UNSIGNED NOT NULL,
  `pool_freq`  INT UNSIGNED DEFAULT 300,
  `central_id` INT NOT NULL DEFAULT 1,
  `use_ssl`    BOOLEAN DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `agent_u` (`host`, `port`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

-- one row per agent status report (upstream: per API refresh, counters of
-- HTTP requests since the previous report)
CREATE TABLE IF NOT EXISTS `agt$history` (
  `agt_id`    INT UNSIGNED NOT NULL,
  `timestamp` DOUBLE NOT NULL,
  `failed`    INT UNSIGNED NOT NULL,
  `missing`   INT UNSIGNED NOT NULL,
  `parse`     INT UNSIGNED NOT NULL,
  `ok`        INT UNSIGNED NOT NULL,
  PRIMARY KEY (`agt_id`, `timestamp`),
  CONSTRAINT `fk_agtHistory_id` FOREIGN KEY (`agt_id`) REFERENCES `c$agents` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `c$ressources` (
  `id`        INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `name`      VARCHAR(256) COLLATE utf8mb4_bin NOT NULL,
  `origin`    VARCHAR(256) COLLATE utf8mb4_bin NOT NULL,
  `data_type` VARCHAR(256) COLLATE utf8mb4_bin NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `ressources_u` (`data_type`, `name`, `origin`),
  KEY `ressources_name_origin_i` (`name`, `origin`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `c$properties` (
  `id`   INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `name` VARCHAR(256) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `properties_name_u` (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `c$domains` (
  `id`   INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `name` VARCHAR(256) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `domaines_u` (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `c$event_types` (
  `id`   INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `name` VARCHAR(256) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `event_types_u` (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

-- name = 'default' or a data_type (per-type override); delays in minutes /
-- hours / days, retentions in days (0 = keep forever)
CREATE TABLE IF NOT EXISTS `c$aggregate_config` (
  `name`         VARCHAR(256) NOT NULL,
  `delay_am`     INT UNSIGNED NOT NULL DEFAULT 30,
  `delay_ah`     INT UNSIGNED NOT NULL DEFAULT 2,
  `delay_ad`     INT UNSIGNED NOT NULL DEFAULT 1,
  `retention_d`  INT UNSIGNED NOT NULL DEFAULT 14,
  `retention_am` INT UNSIGNED NOT NULL DEFAULT 60,
  `retention_ah` INT UNSIGNED NOT NULL DEFAULT 730,
  `retention_ad` INT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

-- ---------------------------------------------------------------------------
-- Backend nodes
-- ---------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS `b$backend` (
  `id`       INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `hostname` VARCHAR(256) NOT NULL,
  `filename` VARCHAR(256) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `backend_u` (`hostname`, `filename`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `b$history` (
  `back_id`   INT UNSIGNED NOT NULL,
  `timestamp` DOUBLE NOT NULL,
  `failed`    INT UNSIGNED NOT NULL,
  `ok`        INT UNSIGNED NOT NULL,
  PRIMARY KEY (`back_id`, `timestamp`),
  CONSTRAINT `fk_backHistory_id` FOREIGN KEY (`back_id`) REFERENCES `b$backend` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

-- ---------------------------------------------------------------------------
-- Hosts
-- ---------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS `h$hosts` (
  `id`        INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `name`      VARCHAR(256) NOT NULL,
  `domain_id` INT UNSIGNED NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `hosts_name_u` (`name`),
  KEY `hosts_domain_i` (`domain_id`),
  CONSTRAINT `fk_hosts_domain` FOREIGN KEY (`domain_id`) REFERENCES `c$domains` (`id`)
    ON DELETE SET NULL ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `h$ressources` (
  `host_id` INT UNSIGNED NOT NULL,
  `res_id`  INT UNSIGNED NOT NULL,
  PRIMARY KEY (`host_id`, `res_id`),
  KEY `host_ressources_resid_i` (`res_id`),
  CONSTRAINT `fk_host_ressources_hostid` FOREIGN KEY (`host_id`) REFERENCES `h$hosts` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT `fk_host_ressources_resid` FOREIGN KEY (`res_id`) REFERENCES `c$ressources` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

-- threshold rules; NULL host_id / res_id / res_type = any
CREATE TABLE IF NOT EXISTS `h$event_factory` (
  `id`         INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host_id`    INT UNSIGNED NULL,
  `res_id`     INT UNSIGNED NULL,
  `res_type`   VARCHAR(256) NULL,
  `event_type` INT UNSIGNED NOT NULL,
  `property`   VARCHAR(256) NOT NULL,
  `oper`       CHAR(1) NOT NULL,
  `value`      DOUBLE NOT NULL,
  PRIMARY KEY (`id`),
  KEY `host_factory_hostid_i` (`host_id`),
  KEY `host_factory_resid_i` (`res_id`),
  CONSTRAINT `fk_host_factory_hostid` FOREIGN KEY (`host_id`) REFERENCES `h$hosts` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT `fk_host_factory_resid` FOREIGN KEY (`res_id`) REFERENCES `c$ressources` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `h$res_events` (
  `id`            INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host_id`       INT UNSIGNED NOT NULL,
  `res_id`        INT UNSIGNED NOT NULL,
  `start_time`    DOUBLE NOT NULL,
  `end_time`      DOUBLE NULL,
  `event_type`    INT UNSIGNED NOT NULL,
  `property`      VARCHAR(256) NOT NULL,
  `current_value` DOUBLE NOT NULL,
  `oper`          CHAR(1) NOT NULL,
  `value`         DOUBLE NOT NULL,
  PRIMARY KEY (`id`),
  KEY `host_events_ressources_i` (`host_id`, `res_id`),
  KEY `host_events_open_i` (`end_time`),
  CONSTRAINT `fk_host_events_ressources` FOREIGN KEY (`host_id`, `res_id`)
    REFERENCES `h$ressources` (`host_id`, `res_id`) ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

-- ---------------------------------------------------------------------------
-- Services
-- ---------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS `s$types` (
  `id`   INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `name` VARCHAR(256) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `serv_types_u` (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `s$services` (
  `id`      INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host_id` INT UNSIGNED NULL,
  `type_id` INT UNSIGNED NULL,
  `name`    VARCHAR(256) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `services_u` (`host_id`, `name`),
  KEY `services_type_i` (`type_id`),
  CONSTRAINT `fk_services_hostid` FOREIGN KEY (`host_id`) REFERENCES `h$hosts` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT `fk_services_typeid` FOREIGN KEY (`type_id`) REFERENCES `s$types` (`id`)
    ON DELETE SET NULL ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `s$ressources` (
  `serv_id` INT UNSIGNED NOT NULL,
  `res_id`  INT UNSIGNED NOT NULL,
  PRIMARY KEY (`serv_id`, `res_id`),
  KEY `services_ressources_resid_i` (`res_id`),
  CONSTRAINT `fk_services_ressources_servid` FOREIGN KEY (`serv_id`) REFERENCES `s$services` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT `fk_services_ressources_resid` FOREIGN KEY (`res_id`) REFERENCES `c$ressources` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `s$event_factory` (
  `id`         INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `serv_id`    INT UNSIGNED NULL,
  `res_id`     INT UNSIGNED NULL,
  `res_type`   VARCHAR(256) NULL,
  `event_type` INT UNSIGNED NOT NULL,
  `property`   VARCHAR(256) NOT NULL,
  `oper`       CHAR(1) NOT NULL,
  `value`      DOUBLE NOT NULL,
  PRIMARY KEY (`id`),
  KEY `services_factory_servid_i` (`serv_id`),
  KEY `services_factory_resid_i` (`res_id`),
  CONSTRAINT `fk_services_factory_servid` FOREIGN KEY (`serv_id`) REFERENCES `s$services` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT `fk_services_factory_resid` FOREIGN KEY (`res_id`) REFERENCES `c$ressources` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `s$res_events` (
  `id`            INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `serv_id`       INT UNSIGNED NOT NULL,
  `res_id`        INT UNSIGNED NOT NULL,
  `start_time`    DOUBLE NOT NULL,
  `end_time`      DOUBLE NULL,
  `event_type`    INT UNSIGNED NOT NULL,
  `property`      VARCHAR(256) NOT NULL,
  `current_value` DOUBLE NOT NULL,
  `oper`          CHAR(1) NOT NULL,
  `value`         DOUBLE NOT NULL,
  PRIMARY KEY (`id`),
  KEY `services_events_ressources_i` (`serv_id`, `res_id`),
  KEY `services_events_open_i` (`end_time`),
  CONSTRAINT `fk_services_events_ressources` FOREIGN KEY (`serv_id`, `res_id`)
    REFERENCES `s$ressources` (`serv_id`, `res_id`) ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `s$log_events` (
  `id`          INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `serv_id`     INT UNSIGNED NOT NULL,
  `timestamp`   DOUBLE NOT NULL,
  `event_type`  INT UNSIGNED NOT NULL,
  `source_name` VARCHAR(256) NOT NULL,
  `date_field`  VARCHAR(256) NOT NULL,
  `line_no`     INT UNSIGNED NOT NULL,
  `text`        VARCHAR(4096) NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `services_log_events_u` (`serv_id`, `source_name`, `date_field`, `line_no`),
  KEY `services_log_events_ts_i` (`serv_id`, `timestamp`),
  CONSTRAINT `fk_services_log_events_servid` FOREIGN KEY (`serv_id`) REFERENCES `s$services` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

-- current state of each socket / process, refreshed every poll;
-- timestamp = time of the poll that last saw it (the front calls a row older
-- than 900 s missing)
CREATE TABLE IF NOT EXISTS `s$sockets` (
  `serv_id`   INT UNSIGNED NOT NULL,
  `name`      VARCHAR(256) NOT NULL,
  `status`    VARCHAR(256) NULL,
  `timestamp` DOUBLE NULL,
  PRIMARY KEY (`serv_id`, `name`),
  CONSTRAINT `fk_serviceSockets_id` FOREIGN KEY (`serv_id`) REFERENCES `s$services` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `s$process` (
  `serv_id`   INT UNSIGNED NOT NULL,
  `name`      VARCHAR(256) NOT NULL,
  `full_path` VARCHAR(256) NULL,
  `cwd`       VARCHAR(256) NULL,
  `username`  VARCHAR(256) NULL,
  `pid`       INT UNSIGNED NULL,
  `status`    VARCHAR(256) NULL,
  `timestamp` DOUBLE NULL,
  PRIMARY KEY (`serv_id`, `name`),
  CONSTRAINT `fk_serviceProcess_id` FOREIGN KEY (`serv_id`) REFERENCES `s$services` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `s$history` (
  `serv_id`   INT UNSIGNED NOT NULL,
  `timestamp` DOUBLE NOT NULL,
  `failed`    INT UNSIGNED NOT NULL,
  `missing`   INT UNSIGNED NOT NULL,
  `ok`        INT UNSIGNED NOT NULL,
  PRIMARY KEY (`serv_id`, `timestamp`),
  CONSTRAINT `fk_serviceHistory_id` FOREIGN KEY (`serv_id`) REFERENCES `s$services` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

-- ---------------------------------------------------------------------------
-- Groups and applications
-- ---------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS `g$groups` (
  `id`   INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `name` VARCHAR(256) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `groups_name_u` (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `a$apps` (
  `id`       INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `group_id` INT UNSIGNED NULL,
  `name`     VARCHAR(256) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `apps_name_u` (`name`),
  KEY `apps_group_i` (`group_id`),
  CONSTRAINT `fk_apps_group` FOREIGN KEY (`group_id`) REFERENCES `g$groups` (`id`)
    ON DELETE SET NULL ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `a$services` (
  `app_id`  INT UNSIGNED NOT NULL,
  `serv_id` INT UNSIGNED NOT NULL,
  PRIMARY KEY (`app_id`, `serv_id`),
  KEY `apps_services_serv` (`serv_id`),
  CONSTRAINT `fk_apps_services_app` FOREIGN KEY (`app_id`) REFERENCES `a$apps` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT `fk_apps_services_serv` FOREIGN KEY (`serv_id`) REFERENCES `s$services` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

-- ---------------------------------------------------------------------------
-- Permissions (teams, roles)
-- ---------------------------------------------------------------------------

-- serv_type_id NULL = host-level role
CREATE TABLE IF NOT EXISTS `p$roles` (
  `id`           INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `name`         VARCHAR(256) NOT NULL,
  `serv_type_id` INT UNSIGNED NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `perm_roles_name_u` (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `p$teams` (
  `id`         INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `name`       VARCHAR(256) NOT NULL,
  `superadmin` BOOLEAN NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `perm_teams_name_u` (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `p$team_properties` (
  `team_id` INT UNSIGNED NOT NULL,
  `prop_id` INT UNSIGNED NOT NULL,
  `value`   VARCHAR(1024) NOT NULL,
  PRIMARY KEY (`team_id`, `prop_id`),
  KEY `team_properties_prop_i` (`prop_id`),
  CONSTRAINT `fk_team_properties_team` FOREIGN KEY (`team_id`) REFERENCES `p$teams` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT `fk_team_properties_prop` FOREIGN KEY (`prop_id`) REFERENCES `c$properties` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `p$domains` (
  `domain_id` INT UNSIGNED NOT NULL,
  `team_id`   INT UNSIGNED NOT NULL,
  `role_id`   INT UNSIGNED NOT NULL,
  `alert`     BOOLEAN NULL,
  PRIMARY KEY (`domain_id`, `team_id`, `role_id`),
  KEY `perm_domains_team_i` (`team_id`),
  KEY `perm_domains_role_i` (`role_id`),
  CONSTRAINT `fk_perm_domains_domain` FOREIGN KEY (`domain_id`) REFERENCES `c$domains` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT `fk_perm_domains_team` FOREIGN KEY (`team_id`) REFERENCES `p$teams` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT `fk_perm_domains_role` FOREIGN KEY (`role_id`) REFERENCES `p$roles` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `p$hosts` (
  `host_id` INT UNSIGNED NOT NULL,
  `team_id` INT UNSIGNED NOT NULL,
  `role_id` INT UNSIGNED NOT NULL,
  `alert`   BOOLEAN NULL,
  PRIMARY KEY (`host_id`, `team_id`, `role_id`),
  KEY `perm_hosts_team_i` (`team_id`),
  KEY `perm_hosts_role_i` (`role_id`),
  CONSTRAINT `fk_perm_hosts_host` FOREIGN KEY (`host_id`) REFERENCES `h$hosts` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT `fk_perm_hosts_team` FOREIGN KEY (`team_id`) REFERENCES `p$teams` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT `fk_perm_hosts_role` FOREIGN KEY (`role_id`) REFERENCES `p$roles` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `p$services` (
  `serv_id` INT UNSIGNED NOT NULL,
  `team_id` INT UNSIGNED NOT NULL,
  `role_id` INT UNSIGNED NOT NULL,
  `alert`   BOOLEAN NULL,
  PRIMARY KEY (`serv_id`, `team_id`, `role_id`),
  KEY `perm_services_team_i` (`team_id`),
  KEY `perm_services_role_i` (`role_id`),
  CONSTRAINT `fk_perm_services_serv` FOREIGN KEY (`serv_id`) REFERENCES `s$services` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT `fk_perm_services_team` FOREIGN KEY (`team_id`) REFERENCES `p$teams` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT `fk_perm_services_role` FOREIGN KEY (`role_id`) REFERENCES `p$roles` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `p$groups` (
  `group_id` INT UNSIGNED NOT NULL,
  `team_id`  INT UNSIGNED NOT NULL,
  `role_id`  INT UNSIGNED NOT NULL,
  `alert`    BOOLEAN NULL,
  PRIMARY KEY (`group_id`, `team_id`, `role_id`),
  KEY `perm_groups_team_i` (`team_id`),
  KEY `perm_groups_role_i` (`role_id`),
  CONSTRAINT `fk_perm_groups_group` FOREIGN KEY (`group_id`) REFERENCES `g$groups` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT `fk_perm_groups_team` FOREIGN KEY (`team_id`) REFERENCES `p$teams` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT `fk_perm_groups_role` FOREIGN KEY (`role_id`) REFERENCES `p$roles` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

-- upstream's primary key was (team_id, role_id): one app per team and role
CREATE TABLE IF NOT EXISTS `p$apps` (
  `app_id`  INT UNSIGNED NOT NULL,
  `team_id` INT UNSIGNED NOT NULL,
  `role_id` INT UNSIGNED NOT NULL,
  `alert`   BOOLEAN NULL,
  PRIMARY KEY (`app_id`, `team_id`, `role_id`),
  KEY `perm_apps_team_i` (`team_id`),
  KEY `perm_apps_role_i` (`role_id`),
  CONSTRAINT `fk_perm_apps_app` FOREIGN KEY (`app_id`) REFERENCES `a$apps` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT `fk_perm_apps_team` FOREIGN KEY (`team_id`) REFERENCES `p$teams` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT `fk_perm_apps_role` FOREIGN KEY (`role_id`) REFERENCES `p$roles` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

-- ---------------------------------------------------------------------------
-- Users
-- ---------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS `u$users` (
  `id`        INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `username`  VARCHAR(256) NOT NULL,
  `firstname` VARCHAR(128) NULL,
  `lastname`  VARCHAR(128) NULL,
  `passhash`  VARCHAR(512) NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `users_name_u` (`username`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

-- `created` stays a TIMESTAMP: the front (not the backend) owns this table and
-- compares it with current_timestamp
CREATE TABLE IF NOT EXISTS `u$tokens` (
  `id`       INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `user_id`  INT UNSIGNED NOT NULL,
  `keyname`  VARCHAR(256) NOT NULL,
  `passhash` VARCHAR(512) NOT NULL,
  `created`  TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`),
  UNIQUE KEY `tokens_name_u` (`keyname`),
  KEY `tokens_user_i` (`user_id`),
  CONSTRAINT `fk_tokens_user` FOREIGN KEY (`user_id`) REFERENCES `u$users` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `u$teams` (
  `user_id` INT UNSIGNED NOT NULL,
  `team_id` INT UNSIGNED NOT NULL,
  PRIMARY KEY (`user_id`, `team_id`),
  KEY `users_teams_team_i` (`team_id`),
  CONSTRAINT `fk_users_teams_user` FOREIGN KEY (`user_id`) REFERENCES `u$users` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT `fk_users_teams_team` FOREIGN KEY (`team_id`) REFERENCES `p$teams` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE IF NOT EXISTS `u$properties` (
  `user_id` INT UNSIGNED NOT NULL,
  `prop_id` INT UNSIGNED NOT NULL,
  `value`   VARCHAR(1024) NOT NULL,
  PRIMARY KEY (`user_id`, `prop_id`),
  KEY `users_properties_prop_i` (`prop_id`),
  CONSTRAINT `fk_users_properties_user` FOREIGN KEY (`user_id`) REFERENCES `u$users` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT `fk_users_properties_prop` FOREIGN KEY (`prop_id`) REFERENCES `c$properties` (`id`)
    ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

-- ---------------------------------------------------------------------------
-- Views: data tables
-- ---------------------------------------------------------------------------

-- One row per data type known in c$ressources. drive = host_id | serv_id
-- (from origin 'host' | 'service'). data_table / aggregate_* are the names of
-- d$ / am$ / ah$ / ad$ tables when they exist in the current schema, NULL
-- otherwise (works with no d$ table at all). Reads information_schema of
-- DATABASE(): query it while connected to this schema. Upstream's first
-- version joined the day table on the minute alias (d ON m.table_name = ...);
-- each alias joins its own table here. Table names compare with
-- c$ressources.data_type's binary collation (case-sensitive, like the files).
CREATE OR REPLACE VIEW `c$data_tables` AS
SELECT def.data_type              AS data_type,
       def.drive                  AS drive,
       t.TABLE_NAME               AS data_table,
       m.TABLE_NAME               AS aggregate_min,
       h.TABLE_NAME               AS aggregate_hour,
       d.TABLE_NAME               AS aggregate_day
  FROM (SELECT DISTINCT r.data_type AS data_type,
               CONCAT(SUBSTR(r.origin, 1, 4), '_id') AS drive
          FROM `c$ressources` r) def
  LEFT JOIN information_schema.TABLES t
         ON t.TABLE_SCHEMA = DATABASE()
        AND t.TABLE_NAME = CONCAT('d$', def.data_type)
  LEFT JOIN information_schema.TABLES m
         ON m.TABLE_SCHEMA = DATABASE()
        AND m.TABLE_NAME = CONCAT('am$', def.data_type)
  LEFT JOIN information_schema.TABLES h
         ON h.TABLE_SCHEMA = DATABASE()
        AND h.TABLE_NAME = CONCAT('ah$', def.data_type)
  LEFT JOIN information_schema.TABLES d
         ON d.TABLE_SCHEMA = DATABASE()
        AND d.TABLE_NAME = CONCAT('ad$', def.data_type);

-- Sizes of the data tables (admin page "Tables"). Sizes in MB.
CREATE OR REPLACE VIEW `c$data_sizes` AS
SELECT def.data_type AS data_type,
       IFNULL(t.DATA_LENGTH + t.INDEX_LENGTH, 0) / POW(2, 20)
     + IFNULL(m.DATA_LENGTH + m.INDEX_LENGTH, 0) / POW(2, 20)
     + IFNULL(h.DATA_LENGTH + h.INDEX_LENGTH, 0) / POW(2, 20)
     + IFNULL(d.DATA_LENGTH + d.INDEX_LENGTH, 0) / POW(2, 20) AS total_size,
       (t.DATA_LENGTH + t.INDEX_LENGTH) / POW(2, 20) AS data_size,
       (m.DATA_LENGTH + m.INDEX_LENGTH) / POW(2, 20) AS min_size,
       (h.DATA_LENGTH + h.INDEX_LENGTH) / POW(2, 20) AS hour_size,
       (d.DATA_LENGTH + d.INDEX_LENGTH) / POW(2, 20) AS day_size,
       ch.card AS host_card,
       cs.card AS serv_card,
       cr.card / IFNULL(ch.card, cs.card) AS res_card,
       t.TABLE_ROWS AS data_rows,
       m.TABLE_ROWS AS min_rows,
       h.TABLE_ROWS AS hour_rows,
       d.TABLE_ROWS AS days_rows,
       t.AVG_ROW_LENGTH AS data_avg,
       m.AVG_ROW_LENGTH AS min_avg,
       h.AVG_ROW_LENGTH AS hour_avg,
       d.AVG_ROW_LENGTH AS days_avg
  FROM (SELECT DISTINCT r.data_type AS data_type,
               CONCAT('d$', r.data_type) AS data_table
          FROM `c$ressources` r) def
  LEFT JOIN information_schema.TABLES t
         ON t.TABLE_SCHEMA = DATABASE()
        AND t.TABLE_NAME = def.data_table
  LEFT JOIN information_schema.TABLES m
         ON m.TABLE_SCHEMA = DATABASE()
        AND m.TABLE_NAME = CONCAT('am$', def.data_type)
  LEFT JOIN information_schema.TABLES h
         ON h.TABLE_SCHEMA = DATABASE()
        AND h.TABLE_NAME = CONCAT('ah$', def.data_type)
  LEFT JOIN information_schema.TABLES d
         ON d.TABLE_SCHEMA = DATABASE()
        AND d.TABLE_NAME = CONCAT('ad$', def.data_type)
  LEFT JOIN (SELECT s.TABLE_NAME AS table_name, MAX(s.CARDINALITY) AS card
               FROM information_schema.STATISTICS s
              WHERE s.TABLE_SCHEMA = DATABASE() AND s.COLUMN_NAME = 'host_id'
              GROUP BY s.TABLE_NAME) ch ON ch.table_name = def.data_table
  LEFT JOIN (SELECT s.TABLE_NAME AS table_name, MAX(s.CARDINALITY) AS card
               FROM information_schema.STATISTICS s
              WHERE s.TABLE_SCHEMA = DATABASE() AND s.COLUMN_NAME = 'serv_id'
              GROUP BY s.TABLE_NAME) cs ON cs.table_name = def.data_table
  LEFT JOIN (SELECT s.TABLE_NAME AS table_name, MAX(s.CARDINALITY) AS card
               FROM information_schema.STATISTICS s
              WHERE s.TABLE_SCHEMA = DATABASE() AND s.COLUMN_NAME = 'res_id'
              GROUP BY s.TABLE_NAME) cr ON cr.table_name = def.data_table;

-- Effective rollup configuration per data type: the type's own
-- c$aggregate_config row, else the 'default' row.
CREATE OR REPLACE VIEW `c$data_configs` AS
SELECT dt.data_type AS data_type,
       IFNULL(a.delay_am, c.delay_am)         AS delay_am,
       IFNULL(a.delay_ah, c.delay_ah)         AS delay_ah,
       IFNULL(a.delay_ad, c.delay_ad)         AS delay_ad,
       IFNULL(a.retention_d, c.retention_d)   AS retention_d,
       IFNULL(a.retention_am, c.retention_am) AS retention_am,
       IFNULL(a.retention_ah, c.retention_ah) AS retention_ah,
       IFNULL(a.retention_ad, c.retention_ad) AS retention_ad
  FROM (SELECT DISTINCT r.data_type AS data_type FROM `c$ressources` r) dt
 CROSS JOIN `c$aggregate_config` c
  LEFT JOIN `c$aggregate_config` a ON a.name = dt.data_type
 WHERE c.name = 'default';

-- ---------------------------------------------------------------------------
-- Views: monitoring
-- ---------------------------------------------------------------------------

-- every (host resource, applicable host rule) pair
CREATE OR REPLACE VIEW `h$monitoring_items` AS
SELECT ar.host_id      AS host_id,
       ar.res_id       AS res_id,
       r.name          AS res_name,
       r.origin        AS origin,
       r.data_type     AS res_type,
       ef.host_id      AS factory_host_id,
       ef.res_id       AS factory_res_id,
       ef.res_type     AS factory_res_type,
       ef.event_type   AS event_type,
       et.name         AS event_name,
       ef.property     AS property,
       ef.oper         AS oper,
       ef.value        AS value,
       ef.id           AS factory_id
  FROM `h$ressources` ar
  JOIN `c$ressources` r     ON r.id = ar.res_id
  JOIN `h$event_factory` ef ON (ef.host_id = ar.host_id OR ef.host_id IS NULL)
                           AND (ef.res_id = ar.res_id OR ef.res_id IS NULL)
                           AND (ef.res_type = r.data_type OR ef.res_type IS NULL)
  JOIN `c$event_types` et   ON et.id = ef.event_type;

-- sockets / processes that are not ok or not refreshed for 15 minutes
CREATE OR REPLACE VIEW `s$failed` AS
SELECT MIN(k.timestamp) AS timestamp, k.status AS status, k.serv_id AS serv_id
  FROM `s$sockets` k
 WHERE (UNIX_TIMESTAMP() * 1000 - k.timestamp) / 1000 > 60 * 15
    OR k.status NOT LIKE 'ok%'
 GROUP BY k.status, k.serv_id
UNION
SELECT MIN(p.timestamp) AS timestamp, p.status AS status, p.serv_id AS serv_id
  FROM `s$process` p
 WHERE (UNIX_TIMESTAMP() * 1000 - p.timestamp) / 1000 > 60 * 15
    OR p.status NOT LIKE 'ok%'
 GROUP BY p.status, p.serv_id;

-- services whose oldest socket/process row is older than 15 minutes
CREATE OR REPLACE VIEW `s$missing` AS
SELECT x.serv_id                AS id,
       s.name                   AS name,
       s.host_id                AS host_id,
       MAX(x.late_sec)          AS late_sec,
       COUNT(DISTINCT x.status) AS cnt_stat,
       MIN(x.status)            AS status
  FROM (SELECT (UNIX_TIMESTAMP() * 1000 - MIN(k.timestamp)) / 1000 AS late_sec,
               k.status AS status, k.serv_id AS serv_id
          FROM `s$sockets` k
         GROUP BY k.status, k.serv_id
        UNION
        SELECT (UNIX_TIMESTAMP() * 1000 - MIN(p.timestamp)) / 1000 AS late_sec,
               p.status AS status, p.serv_id AS serv_id
          FROM `s$process` p
         GROUP BY p.status, p.serv_id) x
  JOIN `s$services` s ON s.id = x.serv_id
 WHERE x.late_sec > 60 * 15
 GROUP BY x.serv_id, s.name, s.host_id;

-- ---------------------------------------------------------------------------
-- Views: permissions
-- ---------------------------------------------------------------------------

CREATE OR REPLACE VIEW `p$hosts_direct_teams` AS
SELECT ph.host_id AS host_id, ph.team_id AS team_id, ph.role_id AS role_id, ph.alert AS alert
  FROM `p$hosts` ph
UNION
SELECT hh.id, pd.team_id, pd.role_id, pd.alert
  FROM `p$domains` pd
  JOIN `h$hosts` hh ON hh.domain_id = pd.domain_id;

CREATE OR REPLACE VIEW `p$services_direct_teams` AS
SELECT ps.serv_id AS serv_id, ps.team_id AS team_id, ps.role_id AS role_id, ps.alert AS alert
  FROM `p$services` ps
UNION
SELECT sa.serv_id, pa.team_id, pa.role_id, pa.alert
  FROM `p$apps` pa
  JOIN `a$services` sa ON sa.app_id = pa.app_id
UNION
SELECT sa.serv_id, pg.team_id, pg.role_id, pg.alert
  FROM `p$groups` pg
  JOIN `a$apps` aa     ON aa.group_id = pg.group_id
  JOIN `a$services` sa ON sa.app_id = aa.id;

CREATE OR REPLACE VIEW `p$teams_all_hosts` AS
SELECT hdt.team_id AS team_id, hdt.host_id AS host_id, hdt.role_id AS role_id, hdt.alert AS alert
  FROM `p$hosts_direct_teams` hdt
UNION
SELECT sdt.team_id, s.host_id, sdt.role_id, sdt.alert
  FROM `p$services_direct_teams` sdt
  JOIN `s$services` s ON s.id = sdt.serv_id
UNION
SELECT t.id, h.id, NULL, NULL
  FROM `p$teams` t
 CROSS JOIN `h$hosts` h
 WHERE t.superadmin = TRUE;

CREATE OR REPLACE VIEW `p$teams_all_services` AS
SELECT sdt.team_id AS team_id, sdt.serv_id AS serv_id, sdt.role_id AS role_id, sdt.alert AS alert
  FROM `p$services_direct_teams` sdt
UNION
SELECT hdt.team_id, s.id, hdt.role_id, hdt.alert
  FROM `p$hosts_direct_teams` hdt
  JOIN `s$services` s ON s.host_id = hdt.host_id
  JOIN `p$roles` r    ON r.id = hdt.role_id
 WHERE r.serv_type_id IS NULL OR r.serv_type_id = s.type_id
UNION
SELECT t.id, s.id, NULL, NULL
  FROM `p$teams` t
 CROSS JOIN `s$services` s
 WHERE t.superadmin = TRUE;

CREATE OR REPLACE VIEW `p$users_all_hosts` AS
SELECT ut.user_id AS user_id, th.host_id AS host_id, th.role_id AS role_id
  FROM `p$teams_all_hosts` th
  JOIN `u$teams` ut ON ut.team_id = th.team_id;

CREATE OR REPLACE VIEW `p$users_all_domains` AS
SELECT DISTINCT ut.user_id AS user_id, h.domain_id AS domain_id, th.role_id AS role_id
  FROM `p$teams_all_hosts` th
  JOIN `u$teams` ut ON ut.team_id = th.team_id
  JOIN `h$hosts` h  ON h.id = th.host_id;

CREATE OR REPLACE VIEW `p$users_all_services` AS
SELECT ut.user_id AS user_id, ts.serv_id AS serv_id, ts.role_id AS role_id
  FROM `p$teams_all_services` ts
  JOIN `u$teams` ut ON ut.team_id = ts.team_id;

CREATE OR REPLACE VIEW `p$users_all_apps` AS
SELECT DISTINCT ut.user_id AS user_id, a.app_id AS app_id, ts.role_id AS role_id
  FROM `p$teams_all_services` ts
  JOIN `u$teams` ut    ON ut.team_id = ts.team_id
  JOIN `a$services` a  ON a.serv_id = ts.serv_id;

CREATE OR REPLACE VIEW `p$users_all_groups` AS
SELECT DISTINCT ut.user_id AS user_id, aa.group_id AS group_id, ts.role_id AS role_id
  FROM `p$teams_all_services` ts
  JOIN `u$teams` ut    ON ut.team_id = ts.team_id
  JOIN `a$services` a  ON a.serv_id = ts.serv_id
  JOIN `a$apps` aa     ON aa.id = a.app_id;

CREATE OR REPLACE VIEW `p$users_admin` AS
SELECT u.user_id AS user_id, t.name AS team_name, u.team_id AS team_id
  FROM `u$teams` u
  JOIN `p$teams` t ON t.id = u.team_id
 WHERE t.superadmin = TRUE;

-- who to alert for a host: (host_id, property id, value), e.g. an email address
CREATE OR REPLACE VIEW `p$alert_hosts` AS
SELECT ph.host_id AS host_id, tp.prop_id AS prop_id, tp.value AS value
  FROM `p$team_properties` tp
  JOIN `p$hosts` ph ON ph.team_id = tp.team_id
  JOIN `p$roles` r  ON r.id = ph.role_id
 WHERE ph.alert = TRUE AND r.serv_type_id IS NULL
UNION
SELECT hh.id, tp.prop_id, tp.value
  FROM `p$domains` pd
  JOIN `h$hosts` hh           ON hh.domain_id = pd.domain_id
  JOIN `p$team_properties` tp ON tp.team_id = pd.team_id
  JOIN `p$roles` r            ON r.id = pd.role_id
 WHERE pd.alert = TRUE AND r.serv_type_id IS NULL
UNION
SELECT ph.host_id, up.prop_id, up.value
  FROM `u$properties` up
  JOIN `u$teams` ut ON ut.user_id = up.user_id
  JOIN `p$hosts` ph ON ph.team_id = ut.team_id
  JOIN `p$roles` r  ON r.id = ph.role_id
 WHERE ph.alert = TRUE AND r.serv_type_id IS NULL
UNION
SELECT hh.id, up.prop_id, up.value
  FROM `p$domains` pd
  JOIN `h$hosts` hh      ON hh.domain_id = pd.domain_id
  JOIN `u$teams` ut      ON ut.team_id = pd.team_id
  JOIN `u$properties` up ON up.user_id = ut.user_id
  JOIN `p$roles` r       ON r.id = pd.role_id
 WHERE pd.alert = TRUE AND r.serv_type_id IS NULL;

-- who to alert for a service (same rules as upstream, including its
-- host-level branches that do not check `alert`)
CREATE OR REPLACE VIEW `p$alert_services` AS
SELECT ps.serv_id AS serv_id, tp.prop_id AS prop_id, tp.value AS value
  FROM `p$services` ps
  JOIN `p$team_properties` tp ON tp.team_id = ps.team_id
 WHERE ps.alert = TRUE
UNION
SELECT sa.serv_id, tp.prop_id, tp.value
  FROM `p$apps` pa
  JOIN `a$services` sa        ON sa.app_id = pa.app_id
  JOIN `s$services` s         ON s.id = sa.serv_id
  JOIN `p$roles` r            ON r.id = pa.role_id AND r.serv_type_id = s.type_id
  JOIN `p$team_properties` tp ON tp.team_id = pa.team_id
 WHERE pa.alert = TRUE
UNION
SELECT s.id, tp.prop_id, tp.value
  FROM `p$hosts_direct_teams` hdt
  JOIN `p$roles` r            ON r.id = hdt.role_id
  JOIN `s$services` s         ON s.type_id = r.serv_type_id
  JOIN `p$team_properties` tp ON tp.team_id = hdt.team_id
UNION
SELECT ps.serv_id, up.prop_id, up.value
  FROM `u$properties` up
  JOIN `u$teams` ut    ON ut.user_id = up.user_id
  JOIN `p$services` ps ON ps.team_id = ut.team_id
 WHERE ps.alert = TRUE
UNION
SELECT sa.serv_id, up.prop_id, up.value
  FROM `p$apps` pa
  JOIN `a$services` sa   ON sa.app_id = pa.app_id
  JOIN `s$services` s    ON s.id = sa.serv_id
  JOIN `p$roles` r       ON r.id = pa.role_id AND r.serv_type_id = s.type_id
  JOIN `u$teams` ut      ON ut.team_id = pa.team_id
  JOIN `u$properties` up ON up.user_id = ut.user_id
 WHERE pa.alert = TRUE
UNION
SELECT s.id, up.prop_id, up.value
  FROM `p$hosts_direct_teams` hdt
  JOIN `p$roles` r       ON r.id = hdt.role_id
  JOIN `s$services` s    ON s.type_id = r.serv_type_id
  JOIN `u$teams` ut      ON ut.team_id = hdt.team_id
  JOIN `u$properties` up ON up.user_id = ut.user_id;

-- ---------------------------------------------------------------------------
-- Seed rows
-- ---------------------------------------------------------------------------

INSERT IGNORE INTO `c$aggregate_config` (`name`) VALUES ('default');

INSERT IGNORE INTO `c$domains` (`name`)
VALUES ('Production'), ('Qualification'), ('Testing'), ('Developpement');

-- ids 1..5 on a fresh database, in this order
INSERT IGNORE INTO `c$event_types` (`name`)
VALUES ('Critical'), ('Error'), ('Warning'), ('Notice'), ('Information');

INSERT IGNORE INTO `s$types` (`name`) VALUES ('database'), ('web'), ('system');

INSERT IGNORE INTO `c$properties` (`name`) VALUES ('email');

-- default host rules (no natural key upstream: insert each one only if an
-- identical rule is not there yet)
INSERT INTO `h$event_factory` (`host_id`, `res_id`, `res_type`, `event_type`, `property`, `oper`, `value`)
SELECT NULL, NULL, x.res_type, et.id, x.property, x.oper, x.value
  FROM (SELECT 'disk_usage' AS res_type, 'Warning' AS ev, 'pctfree' AS property, '<' AS oper, 25 AS value
        UNION ALL SELECT 'disk_usage', 'Error',       'pctfree',  '<', 5
        UNION ALL SELECT 'disk_usage', 'Error',       'ipctfree', '<', 5
        UNION ALL SELECT 'disk_usage', 'Warning',     'ipctfree', '<', 25
        UNION ALL SELECT 'cpu_usage',  'Information', 'user',     '>', 90) x
  JOIN `c$event_types` et ON et.name = x.ev
 WHERE NOT EXISTS (SELECT 1 FROM `h$event_factory` f
                    WHERE f.host_id IS NULL AND f.res_id IS NULL
                      AND f.res_type = x.res_type AND f.event_type = et.id
                      AND f.property = x.property AND f.oper = x.oper
                      AND f.value = x.value);
