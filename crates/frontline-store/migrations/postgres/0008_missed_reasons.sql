-- Why someone on the missed list (补采名单) was not sampled yet, noted by the
-- sweep: bedridden (a sampler goes to the bedside), refused, nobody home, away.
-- The person stays on the list; the reason tells the 4 p.m. list who needs
-- which visit. At most one reason per person and round: the latest note.
CREATE TABLE sampling_missed_reasons (
    round_id    BIGINT NOT NULL REFERENCES sampling_rounds (id),
    resident_id BIGINT NOT NULL REFERENCES residents (id),
    reason      TEXT NOT NULL,
    noted_by    TEXT NOT NULL,
    noted_at    BIGINT NOT NULL,
    PRIMARY KEY (round_id, resident_id)
);
