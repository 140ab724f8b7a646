-- Issue 12 item 2: evidence files (screenshots, HTTP exchanges, logs) attached
-- to a checklist item or to a vulnerability, and files added to a linked
-- finding in DefectDojo.
--
-- The bytes live here, never in Redis: the queue carries only the evidence
-- id. `BYTEA` is the one binary type name both backends take: PostgreSQL's
-- binary type, and on SQLite a declared type whose blobs are stored as they
-- are (SQLite keeps any BLOB value unchanged whatever the column's affinity).
-- Times in unix milliseconds, no booleans (portable SQL as in the first schema).
CREATE TABLE evidence (
    id              TEXT   NOT NULL PRIMARY KEY,
    project         TEXT   NOT NULL,
    -- The item the file belongs to (a vulnerability's item for a vulnerability).
    wstg_id         TEXT   NOT NULL,
    -- What it is attached to: the item itself, or one of its vulnerabilities
    -- (`target_id` is then the vulnerability's id; for an item, its WSTG id).
    target_kind     TEXT   NOT NULL,
    target_id       TEXT   NOT NULL,
    name            TEXT   NOT NULL,
    content_type    TEXT   NOT NULL,
    size            BIGINT NOT NULL,
    sha256          TEXT   NOT NULL,
    bytes           BYTEA  NOT NULL,
    -- Where it came from: uploaded to the tracker, or added in DefectDojo.
    origin          TEXT   NOT NULL,
    -- pending (not yet in DefectDojo), uploaded, removed_in_dojo.
    state           TEXT   NOT NULL,
    -- The finding it was uploaded to (or found on) and DefectDojo's file id.
    dojo_finding_id BIGINT,
    dojo_file_id    BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    CONSTRAINT evidence_target_known CHECK (target_kind IN ('item', 'vulnerability')),
    CONSTRAINT evidence_origin_known CHECK (origin IN ('tracker', 'dojo')),
    CONSTRAINT evidence_state_known CHECK (state IN ('pending', 'uploaded', 'removed_in_dojo'))
);

CREATE INDEX evidence_by_item ON evidence (project, wstg_id);

-- A DefectDojo file is recorded once however often the poller sees it.
CREATE UNIQUE INDEX evidence_dojo_file ON evidence (dojo_finding_id, dojo_file_id);
