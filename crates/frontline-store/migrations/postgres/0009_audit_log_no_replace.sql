-- The audit log is append-only, and that must hold for every way PostgreSQL
-- can remove rows. The row triggers refuse UPDATE and DELETE (and so an
-- `INSERT … ON CONFLICT (id) DO UPDATE`), but TRUNCATE fires no row trigger:
-- a statement trigger refuses it. (The deployment should also run the server
-- under a role without TRUNCATE, UPDATE or DELETE on the table:
-- deploy/postgres-least-privilege.md.)
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
