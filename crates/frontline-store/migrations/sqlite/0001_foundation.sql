-- Foundation: settings, working groups, accounts, sessions, audit log,
-- places (district → community → compound → building → unit → household),
-- zone levels with history, residents with address history.
-- SQLite flavour. Only INTEGER, REAL and TEXT column types: times are unix
-- milliseconds, booleans 0/1, dates 'YYYY-MM-DD'.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE working_groups (
    id         INTEGER PRIMARY KEY,
    code       TEXT NOT NULL,
    name       TEXT NOT NULL,
    name_en    TEXT NOT NULL,
    duty       TEXT NOT NULL DEFAULT '',
    sort       INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    CONSTRAINT working_groups_code_key UNIQUE (code)
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    group_id      INTEGER REFERENCES working_groups (id),
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CONSTRAINT users_username_key UNIQUE (username)
);

CREATE TABLE sessions (
    id         INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor_id    INTEGER,
    actor       TEXT NOT NULL,
    ip          TEXT,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT,
    before_json TEXT,
    after_json  TEXT
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id);
CREATE INDEX audit_log_action_idx ON audit_log (action, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

CREATE TABLE districts (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE communities (
    id          INTEGER PRIMARY KEY,
    district_id INTEGER NOT NULL REFERENCES districts (id),
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    CONSTRAINT communities_name_key UNIQUE (district_id, name)
);

CREATE TABLE compounds (
    id           INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities (id),
    name         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    CONSTRAINT compounds_name_key UNIQUE (community_id, name)
);

CREATE TABLE buildings (
    id          INTEGER PRIMARY KEY,
    compound_id INTEGER NOT NULL REFERENCES compounds (id),
    number      INTEGER,
    name        TEXT NOT NULL,
    floors      INTEGER,
    footprint   TEXT,
    created_at  INTEGER NOT NULL,
    CONSTRAINT buildings_name_key UNIQUE (compound_id, name)
);

CREATE TABLE building_zones (
    id             INTEGER PRIMARY KEY,
    building_id    INTEGER NOT NULL REFERENCES buildings (id),
    level          TEXT NOT NULL,
    effective_from INTEGER NOT NULL,
    reason         TEXT NOT NULL,
    decided_by     INTEGER REFERENCES users (id),
    decided_name   TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX building_zones_building_idx ON building_zones (building_id, effective_from, id);

CREATE TABLE units (
    id          INTEGER PRIMARY KEY,
    building_id INTEGER NOT NULL REFERENCES buildings (id),
    number      INTEGER,
    name        TEXT NOT NULL,
    CONSTRAINT units_name_key UNIQUE (building_id, name)
);

CREATE TABLE households (
    id          INTEGER PRIMARY KEY,
    unit_id     INTEGER NOT NULL REFERENCES units (id),
    building_id INTEGER NOT NULL REFERENCES buildings (id),
    floor       INTEGER,
    room        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    CONSTRAINT households_room_key UNIQUE (unit_id, room)
);
CREATE INDEX households_building_idx ON households (building_id, id);

CREATE TABLE residents (
    id           INTEGER PRIMARY KEY,
    household_id INTEGER REFERENCES households (id),
    building_id  INTEGER REFERENCES buildings (id),
    name         TEXT NOT NULL,
    doc_kind     TEXT NOT NULL,
    id_number    TEXT,
    id_rev       TEXT,
    birth_date   TEXT,
    sex          TEXT,
    phone        TEXT,
    phone_rev    TEXT,
    needs        INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    CONSTRAINT residents_id_number_key UNIQUE (id_number)
);
CREATE INDEX residents_building_idx ON residents (building_id, id);
CREATE INDEX residents_household_idx ON residents (household_id);
CREATE INDEX residents_id_rev_idx ON residents (id_rev);
CREATE INDEX residents_phone_rev_idx ON residents (phone_rev);
CREATE INDEX residents_name_idx ON residents (name);

CREATE TABLE resident_addresses (
    id           INTEGER PRIMARY KEY,
    resident_id  INTEGER NOT NULL REFERENCES residents (id),
    household_id INTEGER REFERENCES households (id),
    from_at      INTEGER NOT NULL,
    to_at        INTEGER,
    reason       TEXT NOT NULL
);
CREATE INDEX resident_addresses_resident_idx ON resident_addresses (resident_id, from_at);
