-- wstg-bridge store, first schema.
--
-- One file for SQLite and PostgreSQL, so only what both accept: TEXT and
-- BIGINT columns, no SERIAL/AUTOINCREMENT (ids are UUID v7 text, which sort
-- by time), no booleans (BIGINT 0/1), no native timestamps (BIGINT unix
-- milliseconds, UTC), JSON kept as TEXT. Enumerations are TEXT with CHECKs so
-- a typo in code fails loudly on both backends.

-- The DefectDojo hierarchy each project writes into, remembered after the
-- bootstrap so every worker replica uses the same ids.
CREATE TABLE project_links (
    project         TEXT   NOT NULL PRIMARY KEY,
    product_type_id BIGINT NOT NULL,
    product_id      BIGINT NOT NULL,
    engagement_id   BIGINT NOT NULL,
    test_type_id    BIGINT NOT NULL,
    test_id         BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- One row per checklist item of a project: both sides' states, the state they
-- held at the last sync, and how the sync stands.
--
-- No foreign key to project_links: the ingest API records tracker changes
-- before a worker has bootstrapped the project in DefectDojo.
CREATE TABLE items (
    project             TEXT   NOT NULL,
    wstg_id             TEXT   NOT NULL,
    -- Tracker side. Its version is (tracker_changed_at, tracker_event_id):
    -- a change is applied only if its version is greater.
    tracker_status      TEXT,
    tracker_notes       TEXT,
    tracker_changed_at  BIGINT,
    -- UUID v7, lowercase hyphenated: string order is time order.
    tracker_event_id    TEXT,
    tracker_user        TEXT,
    -- DefectDojo side: the linked finding and its last known snapshot
    -- (a serialised DojoItem).
    finding_id          BIGINT,
    dojo_json           TEXT,
    dojo_changed_at     BIGINT,
    -- What both sides held after the last successful sync.
    synced_status       TEXT,
    synced_notes        TEXT,
    -- The tracker version last pushed to DefectDojo.
    pushed_event_id     TEXT,
    sync_state          TEXT   NOT NULL DEFAULT 'pending',
    last_sync_at        BIGINT,
    last_sync_direction TEXT,
    last_error          TEXT,
    updated_at          BIGINT NOT NULL,
    PRIMARY KEY (project, wstg_id),
    CONSTRAINT items_sync_state_known
        CHECK (sync_state IN ('synced', 'pending', 'conflict', 'failed')),
    CONSTRAINT items_direction_known
        CHECK (last_sync_direction IS NULL
               OR last_sync_direction IN ('tracker->dd', 'dd->tracker')),
    CONSTRAINT items_tracker_state_whole
        CHECK ((tracker_status IS NULL) = (tracker_notes IS NULL)),
    CONSTRAINT items_synced_state_whole
        CHECK ((synced_status IS NULL) = (synced_notes IS NULL))
);

-- The audit trail: one row per sync attempt, kept when items change.
CREATE TABLE audit_log (
    id            TEXT   NOT NULL PRIMARY KEY,
    logged_at     BIGINT NOT NULL,
    project       TEXT   NOT NULL,
    wstg_id       TEXT   NOT NULL,
    direction     TEXT   NOT NULL,
    old_status    TEXT,
    new_status    TEXT,
    success       BIGINT NOT NULL,
    error_message TEXT,
    event_id      TEXT,
    actor         TEXT,
    finding_id    BIGINT,
    conflict      TEXT,
    detail        TEXT,
    CONSTRAINT audit_direction_known
        CHECK (direction IN ('tracker->dd', 'dd->tracker')),
    CONSTRAINT audit_success_is_boolean
        CHECK (success IN (0, 1))
);

-- recent_audit: newest first, overall and per project.
CREATE INDEX audit_log_newest ON audit_log (logged_at, id);
CREATE INDEX audit_log_project_newest ON audit_log (project, logged_at, id);
