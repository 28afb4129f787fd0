<?php
/**
 * aegir platform loader for WordPress.
 *
 * Written by aegir: a verify of the platform rewrites this file, so do not
 * edit it. Every site of this codebase is served through it: the web server
 * passes the site's name as the AEGIR_SITE parameter (and its database
 * credentials as db_* parameters); PHP CLI runs pass them as environment
 * variables. The site's own settings live in sites/<site>/wp-config.php.
 */

$aegir_site = $_SERVER['AEGIR_SITE'] ?? getenv('AEGIR_SITE');
if (!is_string($aegir_site) || strlen($aegir_site) > 253
	|| !preg_match('/^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?$/D', $aegir_site)) {
	if (PHP_SAPI !== 'cli') {
		http_response_code(404);
		header('Content-Type: text/plain; charset=utf-8');
	}
	echo "No site is configured for this address (AEGIR_SITE is missing or invalid).\n";
	exit(1);
}

$aegir_settings = __DIR__ . '/sites/' . $aegir_site . '/wp-config.php';
if (!is_file($aegir_settings)) {
	if (PHP_SAPI !== 'cli') {
		http_response_code(404);
		header('Content-Type: text/plain; charset=utf-8');
	}
	echo "The site $aegir_site has no settings on this platform (sites/$aegir_site/wp-config.php is missing).\n";
	exit(1);
}
require $aegir_settings;
unset($aegir_settings);

// The codebase is shared by every site of the platform and managed by
// aegir: no site may update it on its own.
if (!defined('AUTOMATIC_UPDATER_DISABLED')) {
	define('AUTOMATIC_UPDATER_DISABLED', true);
}
if (!defined('WP_AUTO_UPDATE_CORE')) {
	define('WP_AUTO_UPDATE_CORE', false);
}

if (!defined('ABSPATH')) {
	define('ABSPATH', __DIR__ . '/');
}
require_once ABSPATH . 'wp-settings.php';
