-- Every scan writes its idempotency key. As a rowid table with a text primary
-- key, that was two B-trees per key (the table and its primary-key index), two
-- more pages dirtied and written to the WAL on every group commit. Clustered on
-- the key (WITHOUT ROWID), it is one.

CREATE TABLE sampling_scan_keys_clustered (
    key        TEXT PRIMARY KEY,
    status     TEXT NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO sampling_scan_keys_clustered (key, status, created_at)
    SELECT key, status, created_at FROM sampling_scan_keys;
DROP TABLE sampling_scan_keys;
ALTER TABLE sampling_scan_keys_clustered RENAME TO sampling_scan_keys;
