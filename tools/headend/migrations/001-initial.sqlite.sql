-- The head-end's first schema on SQLite (as it was before numbered migrations: IF NOT EXISTS, so a
-- database made by an older head-end takes it as it is).
CREATE TABLE IF NOT EXISTS channel (
  concentrator INTEGER PRIMARY KEY,
  send_reserve INTEGER NOT NULL DEFAULT 0,
  last_accepted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS reading (
  concentrator INTEGER NOT NULL, meter INTEGER NOT NULL, register INTEGER NOT NULL, time INTEGER NOT NULL,
  value INTEGER NOT NULL, status INTEGER NOT NULL, received_ms INTEGER NOT NULL,
  PRIMARY KEY (concentrator, meter, register, time)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS event (
  concentrator INTEGER NOT NULL, seq INTEGER NOT NULL, type INTEGER NOT NULL, subject INTEGER NOT NULL,
  time INTEGER NOT NULL, detail INTEGER NOT NULL, alarm INTEGER NOT NULL, received_ms INTEGER NOT NULL,
  PRIMARY KEY (concentrator, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS command (
  id INTEGER PRIMARY KEY AUTOINCREMENT, concentrator INTEGER NOT NULL, op TEXT NOT NULL, args TEXT NOT NULL,
  issued_ms INTEGER NOT NULL, result_code INTEGER, result_detail TEXT, result_ms INTEGER
);
CREATE TABLE IF NOT EXISTS status (
  concentrator INTEGER PRIMARY KEY, time INTEGER NOT NULL, uptime_s INTEGER NOT NULL, counters TEXT NOT NULL, received_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS duplicate (
  concentrator INTEGER PRIMARY KEY, readings INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rejection (
  concentrator INTEGER NOT NULL, reason TEXT NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (concentrator, reason)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ota_package (
  id TEXT PRIMARY KEY, bytes BLOB NOT NULL, added_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ota_campaign (
  id INTEGER PRIMARY KEY AUTOINCREMENT, package TEXT NOT NULL REFERENCES ota_package (id), name TEXT NOT NULL,
  window_from INTEGER, window_to INTEGER, created_ms INTEGER NOT NULL, state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ota_unit (
  campaign INTEGER NOT NULL REFERENCES ota_campaign (id), concentrator INTEGER NOT NULL, state TEXT NOT NULL,
  attempts INTEGER NOT NULL, bytes INTEGER NOT NULL, reason TEXT, command INTEGER, offered_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL, version_before TEXT NOT NULL, version_after TEXT NOT NULL,
  download_start_s INTEGER NOT NULL, download_end_s INTEGER NOT NULL,
  PRIMARY KEY (campaign, concentrator)
) WITHOUT ROWID;
