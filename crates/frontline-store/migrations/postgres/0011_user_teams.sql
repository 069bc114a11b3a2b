-- Volunteers work as teams (小队). A round assigns its buildings to teams; an
-- account's team decides which buildings, and so which residents, a
-- volunteer's work reaches (minimum necessary).

ALTER TABLE users ADD COLUMN team TEXT;
CREATE INDEX sampling_round_buildings_team_idx ON sampling_round_buildings (team);
