#!/bin/bash
# The naive serial peer of benchmark 2, as Aegir 3 verifies sites: for each
# vhost, write it, then test the whole nginx configuration and reload (a
# HUP to the master, as Debian's init script and aegir's driver reload).
# Usage: NGINX_PID=FILE naive-verify.sh STAGING VHOST_DIR NGINX_ARGS...
# STAGING holds the rendered vhosts (aegir's own, so both write the same
# bytes); NGINX_ARGS select the nginx instance (-p PREFIX -c CONF -e LOG).
set -eu
staging=$1 vhosts=$2
shift 2
for f in "$staging"/*.conf; do
	cat "$f" > "$vhosts/${f##*/}"
	nginx "$@" -t -q
	kill -HUP "$(cat "$NGINX_PID")"
done
