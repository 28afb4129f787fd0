<?php
/**
 * aegir platform loader for MediaWiki.
 *
 * Written by aegir: a verify of the platform rewrites this file, so do not
 * edit it. The web server passes each wiki's settings file as the
 * MW_CONFIG_FILE parameter, which MediaWiki reads instead of this file; any
 * entry point it does not reach (a maintenance script run without it, an
 * older MediaWiki) loads this file, which picks the wiki from the AEGIR_SITE
 * parameter or environment variable: sites/<site>/LocalSettings.php.
 */

if (!defined('MEDIAWIKI')) {
	exit(1);
}

$aegirSite = $_SERVER['AEGIR_SITE'] ?? getenv('AEGIR_SITE');
if (!is_string($aegirSite) || strlen($aegirSite) > 253
	|| !preg_match('/^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?$/D', $aegirSite)) {
	if (PHP_SAPI !== 'cli') {
		http_response_code(404);
		header('Content-Type: text/plain; charset=utf-8');
	}
	echo "No wiki is configured for this address (AEGIR_SITE is missing or invalid).\n";
	exit(1);
}

$aegirSettings = __DIR__ . '/sites/' . $aegirSite . '/LocalSettings.php';
if (!is_file($aegirSettings)) {
	if (PHP_SAPI !== 'cli') {
		http_response_code(404);
		header('Content-Type: text/plain; charset=utf-8');
	}
	echo "The wiki $aegirSite has no settings on this platform (sites/$aegirSite/LocalSettings.php is missing).\n";
	exit(1);
}
require $aegirSettings;
unset($aegirSettings);
