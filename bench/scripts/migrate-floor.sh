#!/bin/bash
# The floor of one site of benchmark 4's batch migrate: copy its database
# into a new one (dump and import) and copy its files to the new platform.
# Usage: migrate-floor.sh DATABASE NEW_DATABASE SITE_DIR NEW_SITE_DIR
set -euo pipefail
db=$1 newdb=$2 from=$3 to=$4
mysql -uroot -h127.0.0.1 -e "CREATE DATABASE \`$newdb\`"
mysqldump --single-transaction --quick -uroot -h127.0.0.1 "$db" | mysql -uroot -h127.0.0.1 "$newdb"
cp -a "$from" "$to"
