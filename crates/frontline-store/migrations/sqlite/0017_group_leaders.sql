-- A working group has one leader, an account among its members; the leader
-- is shown on the groups page and changes are audited.

ALTER TABLE working_groups ADD COLUMN leader_id INTEGER REFERENCES users (id);
CREATE INDEX users_group_idx ON users (group_id);
