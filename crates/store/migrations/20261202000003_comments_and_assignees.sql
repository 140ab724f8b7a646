-- Issue 12 item 4: an item's discussion, synced both ways with the
-- finding's DefectDojo notes (docs/sync-rules.md, "Comments").
--
-- Portable SQL (TEXT and BIGINT only, times in unix milliseconds).

CREATE TABLE comments (
    -- UUID v7, lowercase hyphenated: string order is time order.
    id              TEXT   NOT NULL PRIMARY KEY,
    project         TEXT   NOT NULL,
    wstg_id         TEXT   NOT NULL,
    -- The tracker author, or the DefectDojo note's author (lowercase username).
    author          TEXT   NOT NULL,
    body            TEXT   NOT NULL,
    -- When it was written (a DefectDojo note's `date`).
    created_at      BIGINT NOT NULL,
    origin          TEXT   NOT NULL,
    -- The DefectDojo note it is: set once the bridge found its post among
    -- the finding's notes, or when it was imported from one.
    dojo_note_id    BIGINT,
    -- The write-ahead mark: set before the note is POSTed, so a post whose
    -- answer was lost is looked for, not sent twice.
    post_started_at BIGINT,
    synced_at       BIGINT,
    updated_at      BIGINT NOT NULL,
    CONSTRAINT comments_origin_known CHECK (origin IN ('tracker', 'dojo'))
);

CREATE INDEX comments_item ON comments (project, wstg_id, created_at);

-- A note comes back once, whichever process sees it first.
CREATE UNIQUE INDEX comments_dojo_note ON comments (project, dojo_note_id);

-- Issue 12 item 3: who an item is assigned to (a lowercase username), on
-- the tracker side and as both sides held it at the last sync, beside
-- tracker_notes and synced_notes.
ALTER TABLE items ADD COLUMN tracker_assignee TEXT;
ALTER TABLE items ADD COLUMN synced_assignee TEXT;
