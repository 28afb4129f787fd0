<?php
/**
 * aegir's WordPress helper, piped to PHP CLI on standard input after a
 * prelude that sets $aegir_job (the job, decoded from JSON). It runs from the
 * platform root with the site's AEGIR_SITE and db_* variables in the
 * environment.
 *
 * Jobs:
 *   install: wp_install() with the title, admin user, email, password and
 *            language of the job, then siteurl and home set to the job's url.
 *   login:   stores the sha256 of a login token, the first administrator's
 *            id and an expiry in the aegir_login_token option.
 *
 * On success it writes one JSON object on standard output and exits 0. On
 * any failure (a wp_die, a PHP fatal error, WordPress exiting early) it
 * writes a plain-text message on standard error and exits 1.
 */

if (PHP_SAPI !== 'cli' || !isset($aegir_job) || !is_array($aegir_job)) {
	exit(1);
}

$aegir_result = null;
$aegir_failed = false;
$aegir_warnings = array();

// WordPress prints its own HTML on errors; keep standard output for the
// result and turn everything else into a message.
ob_start();

function aegir_text($html) {
	$html = preg_replace('#<(head|style|script|title)\b.*?</\1>#is', '', (string) $html);
	$text = html_entity_decode(strip_tags($html), ENT_QUOTES | ENT_HTML5, 'UTF-8');
	return trim(preg_replace('/\s+/', ' ', $text));
}

function aegir_fail($message) {
	global $aegir_failed;
	$aegir_failed = true;
	while (ob_get_level() > 0) {
		ob_end_clean();
	}
	$message = trim($message);
	if (function_exists('mysqli_connect_error') && mysqli_connect_error()) {
		$message .= ' (database: ' . mysqli_connect_error() . ')';
	}
	fwrite(fopen('php://stderr', 'w'), trim($message) . "\n");
	exit(1);
}

register_shutdown_function(static function () {
	global $aegir_result, $aegir_failed;
	if ($aegir_result !== null || !empty($aegir_failed)) {
		return;
	}
	$output = '';
	while (ob_get_level() > 0) {
		$output .= ob_get_clean();
	}
	$message = aegir_text($output);
	// A PHP error is already on standard error (display_errors=stderr).
	if ($message === '' && function_exists('is_blog_installed') && defined('DB_NAME') && !is_blog_installed()) {
		$message = 'WordPress is not installed in database ' . DB_NAME;
	}
	if ($message === '') {
		$message = 'WordPress stopped before the job was done';
	}
	aegir_fail($message);
});

// Every wp_die() becomes a plain-text failure. The filter is registered
// before WordPress loads, in the form WordPress accepts for that.
$GLOBALS['wp_filter']['wp_die_handler'][10][] = array(
	'function' => static function () {
		return static function ($message, $title = '', $args = array()) {
			if (is_wp_error($message)) {
				$message = $message->get_error_message();
			}
			aegir_fail(aegir_text(is_string($message) ? $message : print_r($message, true)));
		};
	},
	'accepted_args' => 1,
);

// WordPress expects a web request: describe one for the site's address.
$aegir_url = parse_url((string) $aegir_job['url']);
if (!is_array($aegir_url) || empty($aegir_url['host'])) {
	aegir_fail('invalid site url ' . $aegir_job['url']);
}
$_SERVER['HTTP_HOST'] = $aegir_url['host'] . (isset($aegir_url['port']) ? ':' . $aegir_url['port'] : '');
$_SERVER['SERVER_NAME'] = $aegir_url['host'];
$_SERVER['SERVER_PORT'] = isset($aegir_url['port']) ? (string) $aegir_url['port'] : (($aegir_url['scheme'] ?? 'http') === 'https' ? '443' : '80');
$_SERVER['REQUEST_URI'] = '/';
if (($aegir_url['scheme'] ?? 'http') === 'https') {
	$_SERVER['HTTPS'] = 'on';
}

// Fail fast, and clearly, when the database cannot be reached: WordPress
// would retry for seconds and then print a page of advice.
if (getenv('db_type') === 'mysql') {
	mysqli_report(MYSQLI_REPORT_OFF);
	$aegir_db = mysqli_init();
	if (!@mysqli_real_connect($aegir_db, (string) getenv('db_host'), (string) getenv('db_user'), (string) getenv('db_passwd'), (string) getenv('db_name'), (int) getenv('db_port'))) {
		aegir_fail(sprintf('cannot connect to database %s on %s:%s as %s', getenv('db_name'), getenv('db_host'), getenv('db_port'), getenv('db_user')));
	}
	mysqli_close($aegir_db);
	unset($aegir_db);
}

switch ($aegir_job['action'] ?? '') {
case 'install':
	define('WP_INSTALLING', true);
	require $aegir_job['root'] . '/wp-load.php';
	// aegir tells the admin about the new site itself.
	if (!function_exists('wp_new_blog_notification')) {
		function wp_new_blog_notification($blog_title, $blog_url, $user_id, $password) {
		}
	}
	require_once ABSPATH . 'wp-admin/includes/upgrade.php';
	// The site is not served yet: make no HTTP requests (the installer
	// would probe the site to choose the permalink structure).
	add_filter('pre_http_request', static function () {
		return new WP_Error('aegir_install', 'no HTTP requests while installing');
	});
	if (is_blog_installed()) {
		aegir_fail('WordPress is already installed in database ' . DB_NAME);
	}
	$language = '';
	if (!empty($aegir_job['language']) && $aegir_job['language'] !== 'en' && $aegir_job['language'] !== 'en_US') {
		$wanted = str_replace('-', '_', (string) $aegir_job['language']);
		foreach (get_available_languages() as $available) {
			if (strcasecmp($available, $wanted) === 0 || stripos($available, $wanted . '_') === 0) {
				$language = $available;
				break;
			}
		}
		if ($language === '') {
			$aegir_warnings[] = 'language ' . $aegir_job['language'] . ' is not installed on this platform: the site is in English';
		}
	}
	$installed = wp_install(
		$aegir_job['title'],
		$aegir_job['user'],
		$aegir_job['email'],
		true,
		'',
		wp_slash($aegir_job['password']),
		$language
	);
	if (empty($installed['user_id']) || is_wp_error($installed['user_id'])) {
		aegir_fail('WordPress did not create the admin user ' . $aegir_job['user']);
	}
	update_option('siteurl', $aegir_job['url']);
	update_option('home', $aegir_job['url']);
	$aegir_result = array('user_id' => (int) $installed['user_id'], 'warnings' => $aegir_warnings);
	break;

case 'login':
	require $aegir_job['root'] . '/wp-load.php';
	$admins = get_users(array(
		'role'    => 'administrator',
		'orderby' => 'ID',
		'order'   => 'ASC',
		'number'  => 1,
	));
	if (!$admins) {
		aegir_fail('the site has no administrator to log in');
	}
	delete_option('aegir_login_token');
	add_option('aegir_login_token', array(
		'hash'    => (string) $aegir_job['hash'],
		'user'    => (int) $admins[0]->ID,
		'expires' => (int) $aegir_job['expires'],
	), '', 'no');
	$aegir_result = array('user' => $admins[0]->user_login);
	break;

default:
	aegir_fail('unknown job ' . ($aegir_job['action'] ?? ''));
}

while (ob_get_level() > 0) {
	ob_end_clean();
}
// Not STDOUT: PHP defines no STDIN/STDOUT/STDERR for a script read from
// standard input.
fwrite(fopen('php://stdout', 'w'), json_encode($aegir_result) . "\n");
