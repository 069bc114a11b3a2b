-- A scan's idempotency key is the client's, so it is unique per account, not
-- across accounts: a volunteer whose phone made the same key as a staff
-- member's was answered `duplicate` and the scan was silently dropped. Keys
-- are now unique per (account, key); keys recorded before carry account 0
-- (unknown, as scans by the system do). A phone replaying such a key is
-- decided again, which answers `duplicate` for a person already in that tube.
--
-- A tube also records the account that opened it (`opened_by`), which may
-- seal it early; tubes opened before are attributed by the user name in
-- `sampler`. No foreign key: an account is never deleted (only disabled).

ALTER TABLE sampling_scan_keys ADD COLUMN account_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sampling_scan_keys ALTER COLUMN account_id DROP DEFAULT;
ALTER TABLE sampling_scan_keys DROP CONSTRAINT sampling_scan_keys_pkey;
ALTER TABLE sampling_scan_keys ADD CONSTRAINT sampling_scan_keys_pkey PRIMARY KEY (account_id, key);

ALTER TABLE sampling_tubes ADD COLUMN opened_by BIGINT;
UPDATE sampling_tubes SET opened_by = (SELECT u.id FROM users u WHERE u.username = sampling_tubes.sampler);
