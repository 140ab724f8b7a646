-- Issue 12 item 5: each project follows one methodology (OWASP WSTG, ASVS or
-- MASTG) at one catalogue version, chosen when it is created.
--
-- Both NULL (every project made before): the configured default catalogue
-- (`catalogue_version`, WSTG 4.2 unless set), exactly as before.
-- `catalogue_version` holds the catalogue's name (`4.2`, `asvs-4.0.3`,
-- `asvs-5.0`, `mastg`); `methodology` (`wstg`, `asvs`, `mastg`) is the guide
-- it belongs to, kept beside it for people and reports reading the table.
ALTER TABLE projects ADD COLUMN methodology TEXT;
ALTER TABLE projects ADD COLUMN catalogue_version TEXT;
