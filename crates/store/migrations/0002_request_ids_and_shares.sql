-- quarry-store schema, version 2. The audit log's id is always the server's own request id;
-- the id a client sent (X-Request-Id) is kept beside it for correlation, never as a key, so
-- two clients sending the same one cannot collide. Conversations are private to their owner
-- unless the owner creates a share: one unguessable token per conversation, which lets whoever
-- holds it read the conversation and give feedback on its answers.
-- Never edit a migration that has shipped: its checksum is recorded in the database; add a new file.

ALTER TABLE audit ADD COLUMN client_request_id TEXT;

CREATE TABLE conversation_shares (
    token TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL UNIQUE REFERENCES conversations (id),
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
