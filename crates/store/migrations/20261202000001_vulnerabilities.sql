-- Issue 12 item 1: vulnerabilities recorded under a checklist item, each its
-- own DefectDojo finding (docs/sync-rules.md, "Vulnerabilities under an item").
--
-- Portable SQL as in the first schema (TEXT and BIGINT only, times in unix
-- milliseconds, no booleans). `vulnerabilities.id` is stable: files are
-- attached to a vulnerability by it.
CREATE TABLE vulnerabilities (
    -- UUID text (v7 for a tracker record; v5 of the key for an idempotent
    -- create; v5 of project and finding id for one found in DefectDojo).
    id             TEXT   NOT NULL PRIMARY KEY,
    project        TEXT   NOT NULL,
    wstg_id        TEXT   NOT NULL,
    -- The DefectDojo finding, once created or found.
    finding_id     BIGINT,
    -- The tracker's fields.
    title          TEXT   NOT NULL,
    severity       TEXT   NOT NULL,
    description    TEXT   NOT NULL,
    steps          TEXT   NOT NULL,
    impact         TEXT   NOT NULL,
    mitigation     TEXT   NOT NULL,
    cwe            BIGINT,
    -- JSON array of URLs.
    endpoints      TEXT   NOT NULL,
    -- JSON of the fields both sides held at the last sync; NULL before it.
    synced         TEXT,
    -- DefectDojo's state: pending, active, mitigated, risk_accepted,
    -- false_positive, out_of_scope, duplicate, inactive, deleted.
    dojo_status    TEXT   NOT NULL,
    -- tracker or dojo: where it was first recorded.
    origin         TEXT   NOT NULL,
    -- The write-ahead intent of a create: when a POST was last sent whose
    -- outcome is not known good (NULL when none).
    create_sent_at BIGINT,
    dojo_updated   TEXT,
    last_error     TEXT,
    created_at     BIGINT NOT NULL,
    -- When the tracker last changed the fields.
    updated_at     BIGINT NOT NULL,
    synced_at      BIGINT,
    -- Bumped by every tracker edit: a sync records its result only if no
    -- edit came in meanwhile.
    version        BIGINT NOT NULL,
    CONSTRAINT vulnerabilities_origin_known CHECK (origin IN ('tracker', 'dojo'))
);

CREATE INDEX vulnerabilities_item ON vulnerabilities (project, wstg_id);
-- One record per finding (NULLs, not yet created, are distinct on both backends).
CREATE UNIQUE INDEX vulnerabilities_finding ON vulnerabilities (project, finding_id);
