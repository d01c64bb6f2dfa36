-- OTA campaigns (tools/headend/ota-campaign.ts) on PostgreSQL: the tables SQLite has had since 001,
-- and the look-up every message makes (a concentrator's units in active campaigns).
CREATE TABLE ota_package (
  id TEXT PRIMARY KEY, bytes BYTEA NOT NULL, added_ms BIGINT NOT NULL
);
CREATE TABLE ota_campaign (
  id BIGSERIAL PRIMARY KEY, package TEXT NOT NULL REFERENCES ota_package (id), name TEXT NOT NULL,
  window_from INTEGER, window_to INTEGER, created_ms BIGINT NOT NULL, state TEXT NOT NULL
);
CREATE TABLE ota_unit (
  campaign BIGINT NOT NULL REFERENCES ota_campaign (id), concentrator BIGINT NOT NULL, state TEXT NOT NULL,
  attempts INTEGER NOT NULL, bytes BIGINT NOT NULL, reason TEXT, command BIGINT, offered_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL, version_before TEXT NOT NULL, version_after TEXT NOT NULL,
  download_start_s BIGINT NOT NULL, download_end_s BIGINT NOT NULL,
  PRIMARY KEY (campaign, concentrator)
);
CREATE INDEX ota_unit_by_concentrator ON ota_unit (concentrator);
