-- quarry-store schema, version 4. A chart is stored as its source (spec and data, JSON text)
-- and drawn when its image is asked for: most answers' images are never looked at (only Slack
-- shows the PNG). Charts stored before keep their images, so `svg` and `png_base64` become
-- optional; both engines need the table rebuilt to drop a NOT NULL portably.
-- Never edit a migration that has shipped: its checksum is recorded in the database; add a new file.

CREATE TABLE charts_v4 (
    id TEXT PRIMARY KEY,
    answer_id TEXT NOT NULL,
    source TEXT,
    svg TEXT,
    png_base64 TEXT,
    created_at BIGINT NOT NULL,
    CHECK (source IS NOT NULL OR (svg IS NOT NULL AND png_base64 IS NOT NULL))
);
INSERT INTO charts_v4 (id, answer_id, svg, png_base64, created_at)
    SELECT id, answer_id, svg, png_base64, created_at FROM charts;
DROP TABLE charts;
ALTER TABLE charts_v4 RENAME TO charts;
CREATE INDEX charts_answer ON charts (answer_id);
