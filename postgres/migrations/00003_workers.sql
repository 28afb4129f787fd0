-- The dispatchers sharing the queue, each with its last heartbeat: the
-- processing tasks of one whose heartbeat lapsed are another's to recover.

-- +goose Up
CREATE TABLE workers (
    name    text COLLATE "C" PRIMARY KEY,
    seen_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE workers;
