-- Sampling rounds (核酸采样): rounds over buildings, pooled tubes, members bound
-- by scans (each with the client's idempotency key), lab results, retests.

CREATE TABLE sampling_rounds (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    pool_size   INTEGER NOT NULL,
    mode        TEXT NOT NULL,
    deadline    INTEGER,
    status      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE sampling_round_buildings (
    round_id    INTEGER NOT NULL REFERENCES sampling_rounds (id),
    building_id INTEGER NOT NULL REFERENCES buildings (id),
    PRIMARY KEY (round_id, building_id)
);

CREATE TABLE sampling_tubes (
    id          INTEGER PRIMARY KEY,
    round_id    INTEGER NOT NULL REFERENCES sampling_rounds (id),
    code        TEXT NOT NULL,
    pool_size   INTEGER NOT NULL,
    members     INTEGER NOT NULL DEFAULT 0,
    sealed      INTEGER NOT NULL DEFAULT 0,
    opened_at   INTEGER NOT NULL,
    sealed_at   INTEGER,
    sampler     TEXT NOT NULL,
    result      TEXT,
    result_at   INTEGER,
    CONSTRAINT sampling_tubes_code_key UNIQUE (code)
);

CREATE TABLE sampling_members (
    id          INTEGER PRIMARY KEY,
    round_id    INTEGER NOT NULL REFERENCES sampling_rounds (id),
    tube_id     INTEGER NOT NULL REFERENCES sampling_tubes (id),
    resident_id INTEGER NOT NULL REFERENCES residents (id),
    building_id INTEGER,
    scanned_at  INTEGER NOT NULL,
    valid       INTEGER NOT NULL DEFAULT 1,
    CONSTRAINT sampling_members_resident_key UNIQUE (round_id, resident_id)
);
CREATE INDEX sampling_members_tube_idx ON sampling_members (tube_id);
CREATE INDEX sampling_members_building_idx ON sampling_members (round_id, building_id, valid);

CREATE TABLE sampling_scan_keys (
    key        TEXT PRIMARY KEY,
    status     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE sampling_retests (
    id          INTEGER PRIMARY KEY,
    round_id    INTEGER NOT NULL REFERENCES sampling_rounds (id),
    resident_id INTEGER NOT NULL REFERENCES residents (id),
    tube_id     INTEGER NOT NULL REFERENCES sampling_tubes (id),
    state       TEXT NOT NULL,
    due_at      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    CONSTRAINT sampling_retests_resident_key UNIQUE (round_id, resident_id)
);

CREATE TABLE sampling_exemptions (
    round_id    INTEGER NOT NULL REFERENCES sampling_rounds (id),
    resident_id INTEGER NOT NULL REFERENCES residents (id),
    reason      TEXT NOT NULL,
    decided_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (round_id, resident_id)
);
