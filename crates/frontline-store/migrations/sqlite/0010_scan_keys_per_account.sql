-- A scan's idempotency key is the client's, so it is unique per account, not
-- across accounts: a volunteer whose phone made the same key as a staff
-- member's was answered `duplicate` and the scan was silently dropped. Keys
-- are now unique per (account, key); keys recorded before carry account 0
-- (unknown, as scans by the system do). A phone replaying such a key is
-- decided again, which answers `duplicate` for a person already in that tube.
-- The table stays clustered on its key (WITHOUT ROWID): one B-tree per key.
--
-- A tube also records the account that opened it (`opened_by`), which may
-- seal it early; tubes opened before are attributed by the user name in
-- `sampler`. No foreign key: the scan writer does not re-check them, and an
-- account is never deleted (only disabled).

CREATE TABLE sampling_scan_keys_by_account (
    account_id INTEGER NOT NULL,
    key        TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, key)
) WITHOUT ROWID;
INSERT INTO sampling_scan_keys_by_account (account_id, key, status, created_at)
    SELECT 0, key, status, created_at FROM sampling_scan_keys;
DROP TABLE sampling_scan_keys;
ALTER TABLE sampling_scan_keys_by_account RENAME TO sampling_scan_keys;

ALTER TABLE sampling_tubes ADD COLUMN opened_by INTEGER;
UPDATE sampling_tubes SET opened_by = (SELECT u.id FROM users u WHERE u.username = sampling_tubes.sampler);
