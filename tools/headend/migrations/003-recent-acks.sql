-- The sequence numbers of each concentrator's last acknowledgements (JSON, a list of seq sets), which
-- a fleet's workers repeat in the next one (core.ts `ackHistory`).
ALTER TABLE channel ADD COLUMN recent_acks TEXT NOT NULL DEFAULT '[]';
