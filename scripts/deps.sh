#!/usr/bin/env bash
# Installs and starts what aegir and its tests need on Debian 12, when
# missing: nginx, php8.2-fpm, MariaDB, WordPress, MediaWiki, and what the
# fleet's servers in network namespaces run (openssh-server, apache2). Idempotent.
set -euo pipefail

# php8.2-fpm goes first: WordPress would otherwise pull in apache with mod_php.
packages=(nginx php8.2-fpm php8.2-cli php8.2-mysql php8.2-xml php8.2-mbstring php8.2-gd
  php8.2-intl php8.2-curl php8.2-apcu rsync sudo mariadb-client chromium openssh-server apache2 restic composer git patch)
apps=(wordpress wordpress-theme-twentytwentythree mediawiki)

missing=()
for p in "${packages[@]}" "${apps[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# MariaDB: use the running server when there is one.
if ! (echo > /dev/tcp/127.0.0.1/3306) 2>/dev/null && ! command -v mariadbd >/dev/null; then
  missing+=(mariadb-server)
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing packages: ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Services are not started by apt: the tests start their own, and a
  # host apache2 would take nginx's port 80 (sshd the host's port 22).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -q
  core=(); rest=()
  for p in "${missing[@]}"; do
    case " ${apps[*]} " in *" $p "*) rest+=("$p") ;; *) core+=("$p") ;; esac
  done
  [ ${#core[@]} -eq 0 ] || apt-get install -y -q "${core[@]}"
  [ ${#rest[@]} -eq 0 ] || apt-get install -y -q --no-install-recommends "${rest[@]}"
fi

# No systemd here: start MariaDB directly when it is not answering.
if ! (echo > /dev/tcp/127.0.0.1/3306) 2>/dev/null; then
  install -d -o mysql -g mysql /run/mysqld
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
  for _ in $(seq 1 100); do
    (echo > /dev/tcp/127.0.0.1/3306) 2>/dev/null && break
    sleep 0.2
  done
fi

# Tests and the demo administer MariaDB as root over TCP; a fresh Debian
# root only logs in through the socket, so allow it from 127.0.0.1 too.
if ! mariadb -h 127.0.0.1 -u root -e 'SELECT 1' >/dev/null 2>&1; then
  mariadb -u root -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
fi

# PostgreSQL, for the front end's store tests: start it, or install it with
# trust on loopback (a test machine), when it is not answering.
if ! (echo > /dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  if ! ls -d /etc/postgresql/*/main >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
    hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -n 1)
    sed -i '1i host all all 127.0.0.1/32 trust # aegir tests' "$hba"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
  for _ in $(seq 1 100); do
    (echo > /dev/tcp/127.0.0.1/5432) 2>/dev/null && break
    sleep 0.2
  done
fi
