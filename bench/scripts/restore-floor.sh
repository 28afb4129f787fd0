#!/bin/bash
# The floor of benchmark 3's restore: unpack the files, create a database
# and import the dump into it.
# Usage: restore-floor.sh OUT_DIR SCRATCH_DIR DATABASE
set -euo pipefail
out=$1 scratch=$2 db=$3
tar xzf "$out/files.tar.gz" -C "$scratch"
mysql -uroot -h127.0.0.1 -e "CREATE DATABASE \`$db\`"
gunzip < "$out/db.sql.gz" | mysql -uroot -h127.0.0.1 "$db"
