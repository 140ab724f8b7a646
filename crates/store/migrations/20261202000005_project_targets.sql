-- Issue 11 item 5: a project's DefectDojo target, stored with the project.
--
-- `product_id` and `engagement_id` (20261201000001) name existing objects;
-- these name them, or the ones to find or make, by name. An id wins over a
-- name of the same object. Unset: the settings' templates decide
-- (crates/domain/src/dojo_target.rs). Portable SQL: nullable TEXT columns.
ALTER TABLE projects ADD COLUMN product_name TEXT;
ALTER TABLE projects ADD COLUMN engagement_name TEXT;
ALTER TABLE projects ADD COLUMN product_type_name TEXT;
ALTER TABLE projects ADD COLUMN test_title TEXT;
