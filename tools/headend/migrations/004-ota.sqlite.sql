-- OTA campaigns: the tables are in 001; a concentrator's units are looked up by concentrator.
CREATE INDEX IF NOT EXISTS ota_unit_by_concentrator ON ota_unit (concentrator);
