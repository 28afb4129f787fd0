-- The dispatchers sharing the queue, each with its last heartbeat: the
-- processing tasks of one whose heartbeat lapsed are another's to recover.

-- +goose Up
CREATE TABLE workers (
    name    TEXT PRIMARY KEY,
    seen_at TEXT NOT NULL
) WITHOUT ROWID;

-- +goose Down
DROP TABLE workers;
