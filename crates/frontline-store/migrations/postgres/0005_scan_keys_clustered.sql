-- SQLite clusters the scan keys on the key (one B-tree per key instead of two).
-- PostgreSQL keeps its heap and primary-key index: nothing to change.

SELECT 1;
