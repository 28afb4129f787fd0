#!/bin/bash
# The floor of benchmark 3's backup: dump the database through gzip, and
# tar and gzip the site directory, as an administrator would by hand.
# Usage: backup-floor.sh DATABASE SITES_DIR URI OUT_DIR
set -euo pipefail
db=$1 sites=$2 uri=$3 out=$4
mysqldump --single-transaction --quick -uroot -h127.0.0.1 "$db" | gzip > "$out/db.sql.gz"
tar czf "$out/files.tar.gz" -C "$sites" "$uri"
