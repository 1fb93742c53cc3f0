-- 0003_rollups.sql
-- State of the aggregator (am$/ah$/ad$ rollups). The rollup tables themselves
-- are created by the aggregator when it first sees a d$ table, like the worker
-- creates d$ tables (docs/aggregator.md).

-- One row per (data type, level): every bucket that starts before `watermark`
-- is rolled up at that level. Advanced in the same transaction as the rows of
-- the chunk it covers. `term` is the fencing token of the aggregator that last
-- wrote it: a write from an older term is refused, and the lease never hands
-- out a term below MAX(term) (so a Redis restart cannot rewind it).
CREATE TABLE IF NOT EXISTS `c$rollup_watermarks` (
  `data_type`  VARCHAR(64) COLLATE utf8mb4_bin NOT NULL,
  `level`      CHAR(2) NOT NULL,
  `watermark`  DOUBLE NOT NULL,
  `term`       BIGINT UNSIGNED NOT NULL,
  `updated_at` DOUBLE NOT NULL,
  PRIMARY KEY (`data_type`, `level`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

-- Buckets of a level (ah or ad) to recompute because a finer level changed
-- below its watermark (late raw rows). Written in the same transaction as the
-- recomputed finer rows and deleted in the same transaction as the
-- recomputed bucket, so a crash in between loses no correction.
CREATE TABLE IF NOT EXISTS `c$rollup_dirty` (
  `data_type` VARCHAR(64) COLLATE utf8mb4_bin NOT NULL,
  `level`     CHAR(2) NOT NULL,
  `bucket`    DOUBLE NOT NULL,
  `marked_at` DOUBLE NOT NULL,
  PRIMARY KEY (`data_type`, `level`, `bucket`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
