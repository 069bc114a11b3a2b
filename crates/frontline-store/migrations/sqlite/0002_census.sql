-- Census rounds (人员摸排): every import is a round holding its raw rows, so
-- every resident links back to the rows that made or changed it.

CREATE TABLE census_rounds (
    id           INTEGER PRIMARY KEY,
    compound_id  INTEGER NOT NULL REFERENCES compounds (id),
    name         TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    source       TEXT NOT NULL,
    committed_by TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    summary      TEXT NOT NULL,
    CONSTRAINT census_rounds_name_key UNIQUE (compound_id, name)
);

CREATE TABLE census_rows (
    id           INTEGER PRIMARY KEY,
    round_id     INTEGER NOT NULL REFERENCES census_rounds (id),
    row_number   INTEGER NOT NULL,
    raw          TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    resident_id  INTEGER REFERENCES residents (id),
    household_id INTEGER REFERENCES households (id),
    building_id  INTEGER REFERENCES buildings (id),
    phone        TEXT,
    away         INTEGER NOT NULL DEFAULT 0,
    issues       TEXT
);
CREATE INDEX census_rows_round_idx ON census_rows (round_id, row_number);
CREATE INDEX census_rows_resident_idx ON census_rows (resident_id, round_id);

CREATE TABLE census_uploads (
    id          INTEGER PRIMARY KEY,
    token       TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    content     BLOB NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    CONSTRAINT census_uploads_token_key UNIQUE (token)
);

CREATE TABLE census_mappings (
    source     TEXT PRIMARY KEY,
    mapping    TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE census_reviews (
    id          INTEGER PRIMARY KEY,
    round_id    INTEGER REFERENCES census_rounds (id),
    kind        TEXT NOT NULL,
    resident_a  INTEGER NOT NULL,
    resident_b  INTEGER NOT NULL,
    status      TEXT NOT NULL,
    decided_by  TEXT,
    decided_at  INTEGER,
    created_at  INTEGER NOT NULL,
    CONSTRAINT census_reviews_pair_key UNIQUE (resident_a, resident_b)
);
CREATE INDEX census_reviews_status_idx ON census_reviews (status, id);

CREATE TABLE resident_merges (
    id          INTEGER PRIMARY KEY,
    kept_id     INTEGER NOT NULL REFERENCES residents (id),
    merged_id   INTEGER NOT NULL,
    snapshot    TEXT NOT NULL,
    merged_by   TEXT NOT NULL,
    merged_at   INTEGER NOT NULL,
    undone_by   TEXT,
    undone_at   INTEGER
);

ALTER TABLE residents ADD COLUMN away INTEGER NOT NULL DEFAULT 0;
