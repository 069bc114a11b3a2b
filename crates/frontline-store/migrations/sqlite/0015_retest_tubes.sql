-- Single retest tubes (复核单管): a member of an abnormal pool is sampled again
-- at home into a tube of their own, marked as the retest of the abnormal pool
-- (`retest_of`). Their retest row points at that tube, so the lab's result for
-- it, reported by the tube's code like any other, closes the person's retest.
ALTER TABLE sampling_tubes ADD COLUMN retest_of INTEGER REFERENCES sampling_tubes (id);
ALTER TABLE sampling_retests ADD COLUMN retest_tube_id INTEGER REFERENCES sampling_tubes (id);
CREATE UNIQUE INDEX sampling_retests_tube_key ON sampling_retests (retest_tube_id);
