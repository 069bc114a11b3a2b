-- A lab result recorded in error is corrected, with a reason; the people the
-- correction moved (retest cancelled or due, back on the missed list, counted
-- again) are kept with it, for the sampling group to act on.

CREATE TABLE sampling_corrections (
    id           INTEGER PRIMARY KEY,
    round_id     INTEGER NOT NULL REFERENCES sampling_rounds (id),
    tube_id      INTEGER NOT NULL REFERENCES sampling_tubes (id),
    result_before TEXT NOT NULL,
    result_after  TEXT NOT NULL,
    reason       TEXT NOT NULL,
    corrected_by TEXT NOT NULL,
    corrected_at INTEGER NOT NULL
);
CREATE INDEX sampling_corrections_round_idx ON sampling_corrections (round_id, id);

CREATE TABLE sampling_correction_people (
    correction_id INTEGER NOT NULL REFERENCES sampling_corrections (id),
    resident_id   INTEGER NOT NULL REFERENCES residents (id),
    effect        TEXT NOT NULL,
    PRIMARY KEY (correction_id, resident_id)
);
