-- The front end's schema. Times are UTC text, 2006-01-02T15:04:05.000000Z,
-- so they sort as they compare. Props columns hold the JSON of the domain
-- struct (aegir.MarshalProps).

-- +goose Up
CREATE TABLE servers (
    name       TEXT PRIMARY KEY,
    props      TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE clients (
    name       TEXT PRIMARY KEY,
    title      TEXT NOT NULL DEFAULT '',
    email      TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);

CREATE TABLE platforms (
    name       TEXT PRIMARY KEY,
    props      TEXT NOT NULL,
    web_server TEXT REFERENCES servers (name),
    app        TEXT NOT NULL DEFAULT '',
    version    TEXT NOT NULL DEFAULT '',
    locked     INTEGER NOT NULL DEFAULT 0,
    status     TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX platforms_web_server ON platforms (web_server);

CREATE TABLE platform_clients (
    platform TEXT NOT NULL REFERENCES platforms (name) ON DELETE CASCADE,
    client   TEXT NOT NULL REFERENCES clients (name) ON DELETE CASCADE,
    PRIMARY KEY (platform, client)
) WITHOUT ROWID;
CREATE INDEX platform_clients_client ON platform_clients (client);

CREATE TABLE sites (
    name        TEXT PRIMARY KEY,
    props       TEXT NOT NULL,
    platform    TEXT NOT NULL REFERENCES platforms (name),
    db_server   TEXT REFERENCES servers (name),
    client      TEXT REFERENCES clients (name),
    status      TEXT NOT NULL DEFAULT '',
    last_cron   TEXT,
    last_backup TEXT,
    disk_files  INTEGER NOT NULL DEFAULT 0,
    disk_db     INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX sites_platform ON sites (platform, name);
CREATE INDEX sites_client ON sites (client, name);
CREATE INDEX sites_status ON sites (status, name);
CREATE INDEX sites_db_server ON sites (db_server);

-- Every name a site answers to (its uri and its aliases) while it is not
-- deleted: the primary key is Aegir's uniqueness rule.
CREATE TABLE aliases (
    alias TEXT PRIMARY KEY,
    site  TEXT NOT NULL REFERENCES sites (name) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX aliases_site ON aliases (site);

CREATE TABLE platform_packages (
    platform       TEXT NOT NULL REFERENCES platforms (name) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    name           TEXT NOT NULL,
    type           TEXT NOT NULL,
    version        TEXT NOT NULL DEFAULT '',
    schema_version INTEGER NOT NULL DEFAULT 0,
    path           TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (platform, position)
) WITHOUT ROWID;

CREATE TABLE site_packages (
    site           TEXT NOT NULL REFERENCES sites (name) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    name           TEXT NOT NULL,
    type           TEXT NOT NULL,
    version        TEXT NOT NULL DEFAULT '',
    schema_version INTEGER NOT NULL DEFAULT 0,
    path           TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (site, position)
) WITHOUT ROWID;

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    email         TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL DEFAULT '',
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);

CREATE TABLE user_clients (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client  TEXT NOT NULL REFERENCES clients (name) ON DELETE CASCADE,
    PRIMARY KEY (user_id, client)
) WITHOUT ROWID;
CREATE INDEX user_clients_client ON user_clients (client);

CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_used  TEXT,
    revoked_at TEXT
);
CREATE INDEX tokens_user ON tokens (user_id, id);

-- Backups outlive their site's record, as the archives do.
CREATE TABLE backups (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    site       TEXT NOT NULL,
    file       TEXT NOT NULL,
    size       INTEGER NOT NULL DEFAULT 0,
    sha256     TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX backups_site ON backups (site, created_at);

-- Tasks name their object instead of referencing it: they outlive it.
CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    type        TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object      TEXT NOT NULL,
    platform    TEXT NOT NULL DEFAULT '',
    exclusive   INTEGER NOT NULL DEFAULT 0,
    args        TEXT,
    status      TEXT NOT NULL,
    creator     TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT,
    worker      TEXT NOT NULL DEFAULT '',
    data        TEXT,
    log_seq     INTEGER NOT NULL DEFAULT 0
);
-- The claim query looks up queued and processing tasks by object and by
-- platform; status leads so that finished history never slows it down.
CREATE INDEX tasks_status ON tasks (status, id);
CREATE INDEX tasks_status_object ON tasks (status, object, id);
CREATE INDEX tasks_status_platform ON tasks (status, platform, id);
CREATE INDEX tasks_exclusive ON tasks (status, platform, id) WHERE exclusive = 1;
CREATE INDEX tasks_object ON tasks (object, id);
CREATE INDEX tasks_type ON tasks (type, id);
CREATE INDEX tasks_finished ON tasks (finished_at);

CREATE TABLE task_logs (
    task_id INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    level   TEXT NOT NULL,
    message TEXT NOT NULL,
    time    TEXT NOT NULL,
    PRIMARY KEY (task_id, seq)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE task_logs;
DROP TABLE tasks;
DROP TABLE backups;
DROP TABLE tokens;
DROP TABLE user_clients;
DROP TABLE users;
DROP TABLE site_packages;
DROP TABLE platform_packages;
DROP TABLE aliases;
DROP TABLE sites;
DROP TABLE platform_clients;
DROP TABLE platforms;
DROP TABLE clients;
DROP TABLE servers;
