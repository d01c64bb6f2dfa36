-- The head-end's first schema on PostgreSQL: the SQLite one's tables with the same keys, readings
-- partitioned by month of their time (partitions are made ahead by the store, postgres-store.ts;
-- readings outside them land in reading_default), the OTA tables left to SQLite.
CREATE TABLE channel (
  concentrator BIGINT PRIMARY KEY,
  send_reserve BIGINT NOT NULL DEFAULT 0,
  last_accepted BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE reading (
  concentrator BIGINT NOT NULL, meter INTEGER NOT NULL, register INTEGER NOT NULL, time BIGINT NOT NULL,
  value BIGINT NOT NULL, status INTEGER NOT NULL, received_ms BIGINT NOT NULL,
  PRIMARY KEY (concentrator, meter, register, time)
) PARTITION BY RANGE (time);
CREATE TABLE reading_default PARTITION OF reading DEFAULT;
CREATE TABLE event (
  concentrator BIGINT NOT NULL, seq BIGINT NOT NULL, type INTEGER NOT NULL, subject INTEGER NOT NULL,
  time BIGINT NOT NULL, detail BIGINT NOT NULL, alarm INTEGER NOT NULL, received_ms BIGINT NOT NULL,
  PRIMARY KEY (concentrator, seq)
);
CREATE TABLE command (
  id BIGSERIAL PRIMARY KEY, concentrator BIGINT NOT NULL, op TEXT NOT NULL, args TEXT NOT NULL,
  issued_ms BIGINT NOT NULL, result_code INTEGER, result_detail TEXT, result_ms BIGINT
);
CREATE TABLE status (
  concentrator BIGINT PRIMARY KEY, time BIGINT NOT NULL, uptime_s BIGINT NOT NULL, counters TEXT NOT NULL, received_ms BIGINT NOT NULL
);
CREATE TABLE duplicate (
  concentrator BIGINT PRIMARY KEY, readings BIGINT NOT NULL
);
CREATE TABLE rejection (
  concentrator BIGINT NOT NULL, reason TEXT NOT NULL, count BIGINT NOT NULL,
  PRIMARY KEY (concentrator, reason)
);
