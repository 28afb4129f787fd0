#!/bin/sh
# A stand-in for a platform's vendor/bin/drush in the drupal driver's tests
# (no Drupal 8+ with composer vendor/ here): it records its arguments,
# environment and standard input, and acts out what the driver relies on.
printf '%s\n' "$*" >> "$FAKE_DRUSH_DIR/args"
env | grep '^db_' | sort > "$FAKE_DRUSH_DIR/env"
case "$*" in
*" site:install "*)
	for a in "$@"; do
		case "$a" in --sites-subdir=*) dir="sites/${a#--sites-subdir=}" ;; esac
	done
	# Drupal's installer edits settings.php and makes the site read-only.
	chmod 644 "$dir/settings.php"
	echo '$settings["changed_by"] = "the installer";' >> "$dir/settings.php"
	chmod 444 "$dir/settings.php"
	chmod 555 "$dir"
	echo " [success] Installation complete.  User name: admin  User password: Random123"
	;;
*" php:script -"*)
	cat > "$FAKE_DRUSH_DIR/stdin"
	;;
*" user:login "*)
	echo "http://example.com:8080/user/reset/1/1700000000/abcdef/login"
	;;
esac
