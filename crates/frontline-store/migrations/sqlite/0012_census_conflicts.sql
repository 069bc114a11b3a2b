-- A row of a census sheet carrying the same document as an earlier row but a
-- different name is not a silent duplicate: it waits here for a person to
-- look at it (the row is kept in census_rows with outcome 'conflict').

CREATE TABLE census_conflicts (
    id          INTEGER PRIMARY KEY,
    round_id    INTEGER NOT NULL REFERENCES census_rounds (id),
    row_number  INTEGER NOT NULL,
    same_as_row INTEGER NOT NULL,
    resident_id INTEGER,
    name        TEXT NOT NULL,
    address     TEXT NOT NULL,
    status      TEXT NOT NULL,
    decided_by  TEXT,
    decided_at  INTEGER,
    created_at  INTEGER NOT NULL
);
CREATE INDEX census_conflicts_status_idx ON census_conflicts (status, id);
CREATE INDEX census_conflicts_resident_idx ON census_conflicts (resident_id);
