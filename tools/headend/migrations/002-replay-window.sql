-- The replay window of each concentrator's channel (firmware/uplink/channel.ts `replayWindow`): bit i
-- set when counter last_accepted - 1 - i was accepted too.
ALTER TABLE channel ADD COLUMN accepted_below BIGINT NOT NULL DEFAULT 0;
