-- When a backup-verify last restored each backup into a scratch copy and
-- booted the app on it; NULL while none has.

-- +goose Up
ALTER TABLE backups ADD COLUMN verified_at timestamptz;

-- +goose Down
ALTER TABLE backups DROP COLUMN verified_at;
