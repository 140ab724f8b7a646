-- Issue 9: projects are created by an admin, and API tokens are scoped.
--
-- Portable SQL as in the first schema (TEXT and BIGINT only, times in unix
-- milliseconds, no booleans).

-- The projects the ingest accepts writes for. A project is created by an
-- admin (`wstgctl project add`), optionally mapped to an existing DefectDojo
-- product and engagement. Names are stored NFKC-normalised; confusable names
-- are refused before the insert (crates/store/src/project_name.rs).
CREATE TABLE projects (
    name          TEXT   NOT NULL PRIMARY KEY,
    product_id    BIGINT,
    engagement_id BIGINT,
    created_at    BIGINT NOT NULL
);

-- Projects that already hold items or a DefectDojo hierarchy stay usable.
INSERT INTO projects (name, created_at)
    SELECT project, 0 FROM items
    UNION
    SELECT project, 0 FROM project_links;

-- API tokens made with `wstgctl token create`. Only the SHA-256 of the token
-- is kept: the token is 256 random bits, so a fast hash suffices (no
-- dictionary to attack), and a copy of the database opens nothing.
CREATE TABLE api_tokens (
    id          TEXT   NOT NULL PRIMARY KEY,
    token_hash  TEXT   NOT NULL UNIQUE,
    label       TEXT   NOT NULL,
    role        TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    CONSTRAINT api_tokens_role_known CHECK (role IN ('admin', 'tracker'))
);

-- A tracker token's projects, each read-only or read-write.
CREATE TABLE api_token_projects (
    token_id TEXT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    project  TEXT NOT NULL,
    access   TEXT NOT NULL,
    PRIMARY KEY (token_id, project),
    CONSTRAINT api_token_projects_access_known CHECK (access IN ('read', 'write'))
);
