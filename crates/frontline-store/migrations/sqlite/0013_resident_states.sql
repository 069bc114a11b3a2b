-- Reconciliation that keeps the base numbers (底数) honest.
-- A round has a scope: the whole compound, or only the buildings its sheet
-- covers; people are reported gone only within it. A refused row keeps the
-- name and the surviving leading digits of its ID number (region and birth
-- date), which can tie it to a resident it did not name in full. Confirming a
-- round records who left (a departure, with a state that can be changed and
-- undone): they leave their household, so every count of a building, and
-- every sampling round's expected count, no longer holds them.
ALTER TABLE census_rounds ADD COLUMN scope TEXT NOT NULL DEFAULT 'compound';
ALTER TABLE census_rounds ADD COLUMN confirmed_by TEXT;
ALTER TABLE census_rounds ADD COLUMN confirmed_at INTEGER;
ALTER TABLE census_rows ADD COLUMN tie_name TEXT;
ALTER TABLE census_rows ADD COLUMN tie_prefix TEXT;

CREATE TABLE resident_departures (
    id           INTEGER PRIMARY KEY,
    resident_id  INTEGER NOT NULL REFERENCES residents (id),
    round_id     INTEGER REFERENCES census_rounds (id),
    state        TEXT NOT NULL,
    household_id INTEGER REFERENCES households (id),
    building_id  INTEGER REFERENCES buildings (id),
    departed_by  TEXT NOT NULL,
    departed_at  INTEGER NOT NULL,
    restored_by  TEXT,
    restored_at  INTEGER
);
CREATE INDEX resident_departures_resident_idx ON resident_departures (resident_id, restored_at);
CREATE INDEX resident_departures_round_idx ON resident_departures (round_id, id);
