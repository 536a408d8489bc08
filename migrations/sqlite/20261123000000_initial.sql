-- Scope store, initial schema (SQLite). Keep in step with ../postgres/20261123000000_initial.sql:
-- the same tables, columns and constraints; only the column types differ.
-- Ids are random 32-char hex text; times are unix milliseconds (INTEGER); STRICT makes SQLite
-- enforce the declared types as PostgreSQL does.

CREATE TABLE orgs (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL,
    -- Bumped by every membership change, as the first write of its transaction, so that
    -- concurrent changes to one organisation's members run one after another (a row lock on
    -- PostgreSQL, the database write lock on SQLite) and the last-admin check cannot race.
    members_version INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    -- Normalised to lowercase by the store, so plain UNIQUE is case-insensitive uniqueness.
    email TEXT NOT NULL UNIQUE,
    -- argon2id PHC string.
    password_hash TEXT NOT NULL,
    created INTEGER NOT NULL,
    password_changed INTEGER NOT NULL
) STRICT;

CREATE TABLE memberships (
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    created INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id)
) STRICT;
CREATE INDEX memberships_by_user ON memberships (user_id);

CREATE TABLE invites (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    -- SHA-256 hex of the invite secret; the secret itself is never stored.
    secret_hash TEXT NOT NULL UNIQUE,
    invited_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    accepted_at INTEGER,
    accepted_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    revoked_at INTEGER
) STRICT;
CREATE INDEX invites_by_org ON invites (org_id, created);

CREATE TABLE service_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- SHA-256 hex of the full token; the token itself is never stored.
    token_hash TEXT NOT NULL UNIQUE,
    -- First characters of the token, shown in lists so people can recognise it.
    prefix TEXT NOT NULL,
    created INTEGER NOT NULL,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    last_used INTEGER,
    revoked_at INTEGER
) STRICT;
CREATE INDEX service_tokens_by_org ON service_tokens (org_id, created);

CREATE TABLE probes (
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    probe_id TEXT NOT NULL,
    hostname TEXT NOT NULL,
    version TEXT NOT NULL,
    -- The app replica that holds (or last held) the probe's stream.
    replica TEXT NOT NULL,
    connected INTEGER NOT NULL CHECK (connected IN (0, 1)),
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    reports_received INTEGER NOT NULL DEFAULT 0,
    reports_dropped INTEGER NOT NULL DEFAULT 0,
    reconnects INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, probe_id)
) STRICT;

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES orgs (id),
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    result TEXT NOT NULL,
    -- JSON text.
    details TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_by_org_time ON audit_log (org_id, at DESC, id DESC);

-- The audit log is append-only: the store has no API to change it, and the database refuses too.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TABLE sessions (
    -- SHA-256 hex of the session id; the id itself lives only in the signed cookie.
    id_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created INTEGER NOT NULL,
    expires INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_by_user ON sessions (user_id);
