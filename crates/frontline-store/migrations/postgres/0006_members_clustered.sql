-- SQLite clusters sampling members on (round_id, resident_id), its unique key
-- (one B-tree fewer per member). PostgreSQL keeps its heap and unique index:
-- nothing to change.

SELECT 1;
