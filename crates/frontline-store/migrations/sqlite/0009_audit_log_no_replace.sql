-- The audit log is append-only, and that must hold for every way SQLite can
-- write a row. `INSERT OR REPLACE` (and `REPLACE INTO`) resolves a clash on the
-- id by deleting the old row without firing DELETE triggers (unless
-- recursive_triggers is on), so it could overwrite any entry. An insert that
-- names the id of an existing entry is refused before anything is deleted.
-- (An upsert, `ON CONFLICT (id) DO UPDATE`, is an UPDATE and its trigger refuses it.)
CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log
WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
