#!/usr/bin/env bash
# Turns this Debian machine into a hosting server and installs a demo
# WordPress site: starts php-fpm and nginx, runs `aegir setup`, builds a
# WordPress platform from Debian's package and installs demo.localhost on it.
set -euo pipefail

home=${AEGIR_HOME:-/var/aegir}
site=${AEGIR_DEMO_SITE:-demo.localhost}
as_aegir() { runuser -u aegir -- env AEGIR_HOME="$home" "$@"; }

if [ "$(id -u)" != 0 ]; then
  echo "make run sets up the machine: run it as root" >&2
  exit 1
fi

# Debian's stock site claims the default server on port 80, which the aegir
# server file takes (unknown hosts get 404): disable it, as Aegir's install does.
if [ -L /etc/nginx/sites-enabled/default ]; then
  rm /etc/nginx/sites-enabled/default
  echo "disabled Debian's default nginx site (aegir answers unknown hosts with 404)"
fi

# A link to an aegir server file that is gone (a home removed since) would
# stop nginx from starting; aegir setup links the right one.
link=/etc/nginx/conf.d/aegir.conf
if [ -L "$link" ] && [ ! -e "$link" ]; then
  echo "removed $link: it linked to $(readlink "$link"), which is gone"
  rm "$link"
fi

# No systemd: start the daemons directly when they are not running.
running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
running /run/php/php8.2-fpm.pid || php-fpm8.2 -D
running /run/nginx.pid || nginx

# A MariaDB administrator for aegir, made once, kept in @server_master.
if [ ! -f "$home/contexts/server_master.yml" ]; then
  pass=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
  mariadb -u root -e "CREATE USER IF NOT EXISTS 'aegir_root'@'localhost' IDENTIFIED BY '$pass';
    CREATE USER IF NOT EXISTS 'aegir_root'@'127.0.0.1' IDENTIFIED BY '$pass';
    ALTER USER 'aegir_root'@'localhost' IDENTIFIED BY '$pass';
    ALTER USER 'aegir_root'@'127.0.0.1' IDENTIFIED BY '$pass';
    GRANT ALL PRIVILEGES ON *.* TO 'aegir_root'@'localhost' WITH GRANT OPTION;
    GRANT ALL PRIVILEGES ON *.* TO 'aegir_root'@'127.0.0.1' WITH GRANT OPTION;"
  master_db="--master_db=mysql://aegir_root:$pass@127.0.0.1:3306"
else
  master_db=""
fi

aegir setup --home "$home" $master_db

platform="$home/platforms/wordpress"
if [ ! -d "$platform" ]; then
  cp -rL /usr/share/wordpress "$platform" 2>/dev/null || cp -r /usr/share/wordpress "$platform"
  chown -R aegir:aegir "$platform"
fi
as_aegir aegir save @platform_wordpress --context_type=platform --root="$platform"
as_aegir aegir verify @platform_wordpress

if ! as_aegir aegir show "@$site" 2>/dev/null | grep -q '^status:'; then
  as_aegir aegir save "@$site" --context_type=site --platform=@platform_wordpress
  as_aegir aegir install "@$site"
else
  as_aegir aegir verify "@$site"
fi

# The front end: the CLI-made contexts join its store, then aegir serve
# runs in the background as the aegir user.
as_aegir aegir hosting-import "@$site" >/dev/null
listen=${AEGIR_LISTEN:-127.0.0.1:8080}
pidfile="$home/serve.pid"
if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  kill "$(cat "$pidfile")"
  while kill -0 "$(cat "$pidfile")" 2>/dev/null; do sleep 0.2; done
fi
# The log is the aegir user's and no one else's: hosted sites run PHP on
# this machine and must not read what the front end writes.
log="$home/serve.log"
[ -e "$log" ] || install -m 0600 -o aegir -g aegir /dev/null "$log"
chown aegir:aegir "$log"
chmod 0600 "$log"
runuser -u aegir -- env AEGIR_HOME="$home" nohup aegir serve --listen "$listen" >>"$log" 2>&1 &
echo $! >"$pidfile"
for _ in $(seq 1 50); do
  curl -fs "http://$listen/api/openapi.json" >/dev/null && break
  sleep 0.2
done
token=$(as_aegir aegir token create admin --name "make run $(date +%Y%m%d.%H%M%S)" 2>/dev/null)
login=$(as_aegir aegir user login-link admin --url "http://$listen" 2>/dev/null)

echo
echo "aegir is set up in $home; the demo site is http://$site/"
echo "(from this machine: curl -H 'Host: $site' http://127.0.0.1/)"
echo "aegir serve runs at http://$listen/ (log: $home/serve.log)"
echo "log in as admin (one-time link): $login"
echo "admin API token: $token"
echo "  e.g. curl -H 'Authorization: Bearer $token' http://$listen/api/sites"
