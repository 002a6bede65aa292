-- quarry-store schema, version 5. Per-user rate limits kept in the store, so that replicas of
-- the server sharing one database apply one limit. One row per limited key: the theoretical
-- arrival time of its next request (GCRA), in unix milliseconds. A row whose time has passed
-- says nothing a missing row would not, so such rows are deleted at any time.
-- Never edit a migration that has shipped: its checksum is recorded in the database; add a new file.

CREATE TABLE rate_limits (
    limit_key TEXT PRIMARY KEY,
    next_at BIGINT NOT NULL
);
CREATE INDEX rate_limits_next_at ON rate_limits (next_at);
