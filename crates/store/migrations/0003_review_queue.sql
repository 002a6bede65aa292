-- quarry-store schema, version 3. The review queue: questions quarry could not answer with
-- confidence, handed to an analyst. One item per answer (the turn it is about); the context
-- (the reading, the SQL attempts, why quarry was not confident) is a JSON document the store
-- does not look inside. An item is answered once; the analyst's answer goes back into the
-- asker's conversation (a turn) or to Slack, and `delivery` says how that went.
-- Never edit a migration that has shipped: its checksum is recorded in the database; add a new file.

CREATE TABLE review_items (
    id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'answered')),
    reason TEXT NOT NULL,
    asker_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    answer_id TEXT NOT NULL UNIQUE REFERENCES turns (answer_id),
    question TEXT NOT NULL,
    context TEXT NOT NULL,
    reply_url TEXT,
    reply_url_expires_at BIGINT,
    answered_by TEXT,
    answered_at BIGINT,
    answer_text TEXT,
    answer_sql TEXT,
    verified_id TEXT,
    delivery TEXT
);
CREATE INDEX review_items_status_created ON review_items (status, created_at);
CREATE INDEX review_items_asker_created ON review_items (asker_id, created_at);
