-- Each building in a round's scope keeps its count of residents bound to a
-- valid tube, kept by the scan writers in the same transaction as the members
-- they write (and by lab results that invalidate a tube). Coverage reads the
-- counters instead of counting members, and the members' index on
-- (round_id, building_id, valid), which only those counts used, is dropped:
-- one B-tree fewer to write per accepted scan, and one fewer page rewritten in
-- the WAL on most group commits.
ALTER TABLE sampling_round_buildings ADD COLUMN sampled BIGINT NOT NULL DEFAULT 0;
UPDATE sampling_round_buildings SET sampled = (
    SELECT COUNT(*) FROM sampling_members m
    WHERE m.round_id = sampling_round_buildings.round_id
      AND m.building_id = sampling_round_buildings.building_id AND m.valid = 1);
DROP INDEX sampling_members_building_idx;
