-- Site health checks (the last answer of each site), the notifications the
-- front end raised and each user's choice of alerts, and client quotas.

-- +goose Up
ALTER TABLE sites ADD COLUMN health TEXT NOT NULL DEFAULT '';
ALTER TABLE sites ADD COLUMN health_code INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sites ADD COLUMN health_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sites ADD COLUMN health_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE sites ADD COLUMN health_checked_at TEXT;
CREATE INDEX sites_health ON sites (health, name);
-- The dashboard's counts and disk use read these alone (index-only scans),
-- not the rows with their properties.
CREATE INDEX sites_counts ON sites (status, health);
CREATE INDEX sites_usage ON sites (platform, db_server, status, disk_files, disk_db);

ALTER TABLE clients ADD COLUMN quota_sites INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN quota_disk INTEGER NOT NULL DEFAULT 0;

CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    time        TEXT NOT NULL,
    event       TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object      TEXT NOT NULL,
    client      TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX notifications_client ON notifications (client, id);

CREATE TABLE alert_subscriptions (
    user_id        INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    events         TEXT NOT NULL DEFAULT '',
    email          INTEGER NOT NULL DEFAULT 0,
    webhook_url    TEXT NOT NULL DEFAULT '',
    webhook_secret TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE alert_subscriptions;
DROP TABLE notifications;
ALTER TABLE clients DROP COLUMN quota_disk;
ALTER TABLE clients DROP COLUMN quota_sites;
DROP INDEX sites_usage;
DROP INDEX sites_counts;
DROP INDEX sites_health;
ALTER TABLE sites DROP COLUMN health_checked_at;
ALTER TABLE sites DROP COLUMN health_reason;
ALTER TABLE sites DROP COLUMN health_ms;
ALTER TABLE sites DROP COLUMN health_code;
ALTER TABLE sites DROP COLUMN health;
