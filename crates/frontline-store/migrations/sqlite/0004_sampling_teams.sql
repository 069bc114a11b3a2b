-- Teams assigned to buildings of a sampling round: the missed list (补采名单) is
-- handed out per team.

ALTER TABLE sampling_round_buildings ADD COLUMN team TEXT;
