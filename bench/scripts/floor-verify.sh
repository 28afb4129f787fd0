#!/bin/bash
# The floor of benchmark 2: write every vhost, one nginx -t, one reload
# (a HUP to the master, as aegir's nginx driver reloads).
# Usage: NGINX_PID=FILE floor-verify.sh STAGING VHOST_DIR NGINX_ARGS...
set -eu
staging=$1 vhosts=$2
shift 2
cp "$staging"/*.conf "$vhosts"/
nginx "$@" -t -q
kill -HUP "$(cat "$NGINX_PID")"
