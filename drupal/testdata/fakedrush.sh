#!/bin/sh
# A stand-in for a platform's vendor/bin/drush in the drupal driver's tests
# (no Drupal 8+ with composer vendor/ here): it records its arguments,
# environment and standard input, and acts out what the driver relies on.
printf '%s\n' "$*" >> "$FAKE_DRUSH_DIR/args"
env | grep -E '^(db_|DRUSH_COMMAND_)' | sort > "$FAKE_DRUSH_DIR/env"
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
	if grep -q update_hook_registry "$FAKE_DRUSH_DIR/stdin"; then
		echo '{"node":8100,"system":8901,"token":8002,"standard":8000,"olivero":0}'
	elif grep -q aegir_rewrite_rules "$FAKE_DRUSH_DIR/stdin"; then
		echo '{"changed":{"config":1,"node__body":2,"file_managed":0}}'
	fi
	;;
*" pm:list "*)
	echo ' [notice] A notice before the list.'
	cat <<'EOF'
{
    "node": {"package": "Core", "project": null, "display_name": "Node (node)", "name": "node", "type": "module", "path": "core/modules/node", "status": "Enabled", "version": "10.2.3"},
    "token": {"package": "Other", "project": "token", "display_name": "Token (token)", "name": "token", "type": "module", "path": "modules/contrib/token", "status": "Enabled", "version": "8.x-1.13"},
    "standard": {"package": "Core", "project": null, "display_name": "Standard (standard)", "name": "standard", "type": "profile", "path": "core/profiles/standard", "status": "Enabled", "version": "10.2.3"},
    "olivero": {"package": "Core", "project": null, "display_name": "Olivero (olivero)", "name": "olivero", "type": "theme", "path": "core/themes/olivero", "status": "Enabled", "version": "10.2.3"}
}
EOF
	;;
*" updatedb "*)
	echo " [success] No pending updates."
	;;
*" core:cron"*)
	echo " [notice] Cron run completed."
	;;
*" user:login "*)
	echo "http://example.com:8080/user/reset/1/1700000000/abcdef/login"
	;;
esac
