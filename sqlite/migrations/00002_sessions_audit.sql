-- The web UI's sessions and one-time login links (both keyed by the
-- SHA-256 of their secret, never the secret), and the audit log of changes
-- that are not tasks.

-- +goose Up
CREATE TABLE sessions (
    hash   TEXT PRIMARY KEY,
    data   BLOB NOT NULL,
    expiry TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_expiry ON sessions (expiry);

CREATE TABLE login_links (
    hash       TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX login_links_expires ON login_links (expires_at);
CREATE INDEX login_links_user ON login_links (user_id);

CREATE TABLE audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    time    TEXT NOT NULL,
    actor   TEXT NOT NULL DEFAULT '',
    action  TEXT NOT NULL,
    object  TEXT NOT NULL DEFAULT '',
    detail  TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_actor ON audit (actor, id);
CREATE INDEX audit_object ON audit (object, id);

-- The task list of a client user looks tasks up by object type.
CREATE INDEX tasks_object_type ON tasks (object_type, id);

-- +goose Down
DROP INDEX tasks_object_type;
DROP TABLE audit;
DROP TABLE login_links;
DROP TABLE sessions;
