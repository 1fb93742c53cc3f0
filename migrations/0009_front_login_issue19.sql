-- 0009_front_login_issue19.sql
-- What watched.back's schema.sql seeded for the web front's first login and
-- its permission views (issue 19): the `public` user, the `admin` team
-- (superadmin, which `p$users_admin` and the `p$teams_all_*` views read), the
-- sample teams and roles, and the teams' rights on the seeded domains.
-- The `admin` user is not here: its password is generated at run time (or
-- given with --front-admin-password), so the migrator creates it after the
-- migrations (FrontAdminSeed), with its membership of the `admin` team.
--
-- Every row is inserted by its natural key (INSERT IGNORE on the unique names
-- and primary keys), so a database that has them, like one upgraded from
-- watched.back, gets only what it lacks; nothing existing is changed.

-- no password: nobody can log in as `public` (the front hides it from its user list)
INSERT IGNORE INTO `u$users` (`username`) VALUES ('public');

INSERT IGNORE INTO `p$teams` (`name`, `superadmin`) VALUES ('admin', TRUE);
INSERT IGNORE INTO `p$teams` (`name`)
VALUES ('public'),
       ('Production dba'), ('Qualification dba'), ('Testing dba'), ('Developpement dba'),
       ('Production sysadmin'), ('Qualification sysadmin'), ('Testing sysadmin'), ('Developpement sysadmin'),
       ('Production webadmin'), ('Qualification webadmin'), ('Testing webadmin'), ('Developpement webadmin');

-- serv_type_id NULL: a host-level role; the others see the services of one type
INSERT IGNORE INTO `p$roles` (`name`) VALUES ('hostadmin');
INSERT IGNORE INTO `p$roles` (`name`, `serv_type_id`)
SELECT x.name, t.id
  FROM (SELECT 'dba' AS name, 'database' AS type
        UNION ALL SELECT 'sysadmin', 'system'
        UNION ALL SELECT 'webadmin', 'web') x
  JOIN `s$types` t ON t.name = x.type;

-- each "<domain> <job>" team holds its role(s) on its domain; Production's
-- are alerted (upstream: alert true for Production, unset elsewhere)
INSERT IGNORE INTO `p$domains` (`domain_id`, `team_id`, `role_id`, `alert`)
SELECT d.id, t.id, r.id, IF(d.name = 'Production', TRUE, NULL)
  FROM `c$domains` d
 CROSS JOIN (SELECT 'dba' AS job, 'dba' AS role
        UNION ALL SELECT 'webadmin', 'webadmin'
        UNION ALL SELECT 'sysadmin', 'sysadmin'
        UNION ALL SELECT 'sysadmin', 'hostadmin') j
  JOIN `p$teams` t ON t.name = CONCAT(d.name, ' ', j.job)
  JOIN `p$roles` r ON r.name = j.role
 WHERE d.name IN ('Production', 'Qualification', 'Testing', 'Developpement');
