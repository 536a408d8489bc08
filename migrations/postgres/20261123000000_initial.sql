-- Scope store, initial schema (PostgreSQL). Keep in step with ../sqlite/20261123000000_initial.sql:
-- the same tables, columns and constraints; only the column types differ.
-- Ids are random 32-char hex text; times are unix milliseconds (BIGINT).

CREATE TABLE orgs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    created BIGINT NOT NULL,
    -- Bumped by every membership change, as the first write of its transaction, so that
    -- concurrent changes to one organisation's members run one after another (a row lock on
    -- PostgreSQL, the database write lock on SQLite) and the last-admin check cannot race.
    members_version BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    -- Normalised to lowercase by the store, so plain UNIQUE is case-insensitive uniqueness.
    email TEXT NOT NULL UNIQUE,
    -- argon2id PHC string.
    password_hash TEXT NOT NULL,
    created BIGINT NOT NULL,
    password_changed BIGINT NOT NULL
);

CREATE TABLE memberships (
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    created BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id);

CREATE TABLE invites (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    -- SHA-256 hex of the invite secret; the secret itself is never stored.
    secret_hash TEXT NOT NULL UNIQUE,
    invited_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    accepted_at BIGINT,
    accepted_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    revoked_at BIGINT
);
CREATE INDEX invites_by_org ON invites (org_id, created);

CREATE TABLE service_tokens (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- SHA-256 hex of the full token; the token itself is never stored.
    token_hash TEXT NOT NULL UNIQUE,
    -- First characters of the token, shown in lists so people can recognise it.
    prefix TEXT NOT NULL,
    created BIGINT NOT NULL,
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    last_used BIGINT,
    revoked_at BIGINT
);
CREATE INDEX service_tokens_by_org ON service_tokens (org_id, created);

CREATE TABLE probes (
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    probe_id TEXT NOT NULL,
    hostname TEXT NOT NULL,
    version TEXT NOT NULL,
    -- The app replica that holds (or last held) the probe's stream.
    replica TEXT NOT NULL,
    connected BOOLEAN NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    reports_received BIGINT NOT NULL DEFAULT 0,
    reports_dropped BIGINT NOT NULL DEFAULT 0,
    reconnects BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, probe_id)
);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs (id),
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    result TEXT NOT NULL,
    -- JSON text (TEXT rather than JSONB so both backends bind and read it the same way).
    details TEXT NOT NULL
);
CREATE INDEX audit_log_by_org_time ON audit_log (org_id, at DESC, id DESC);

-- The audit log is append-only: the store has no API to change it, and the database refuses too.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE sessions (
    -- SHA-256 hex of the session id; the id itself lives only in the signed cookie.
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
