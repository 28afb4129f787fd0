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
 *   packages: the site's db_version, active plugins and theme, read from
 *            the options table with the job's table prefix (WordPress is
 *            not loaded: no plugin runs, no settings file is needed).
 *   address: the site's home and siteurl options, read as packages are.
 *   update:  wp_upgrade(), as wp-admin/upgrade.php; refuses a database newer
 *            than the codebase.
 *   rewrite: replaces the old address and upload path with the new ones in
 *            the database, keeping serialized values valid (no plugin runs).
 *   cron:    runs the due cron events, as wp-cron.php does.
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

/**
 * aegir_rewrite replaces the job's old address (old_url, and //old_host in
 * any scheme, JSON-escaped or not) and upload path (sites/old_uri) with the
 * new ones in every column of the site's database that holds addresses,
 * except the posts' guids, which WordPress says must never change. Rows are
 * read by primary key in batches; only changed values are written back.
 */
function aegir_rewrite(array $job) {
	global $wpdb;
	$boundary = '(?![A-Za-z0-9.\-]|:[0-9])';
	$pairs = array(
		array($job['old_url'], $job['new_url'], '', $boundary),
		array(str_replace('/', '\/', $job['old_url']), str_replace('/', '\/', $job['new_url']), '', $boundary),
		array('//' . $job['old_host'], '//' . $job['new_host'], '', $boundary),
		array('\/\/' . $job['old_host'], '\/\/' . $job['new_host'], '', $boundary),
		array('sites/' . $job['old_uri'], 'sites/' . $job['new_uri'], '(?<![A-Za-z0-9_.\-])', '(?![A-Za-z0-9.\-])'),
		array('sites\/' . $job['old_uri'], 'sites\/' . $job['new_uri'], '(?<![A-Za-z0-9_.\-])', '(?![A-Za-z0-9.\-])'),
	);
	$map = array();
	$alternatives = array();
	foreach ($pairs as list($old, $new, $before, $after)) {
		if ($old === $new || isset($map[$old])) {
			continue;
		}
		$map[$old] = $new;
		$alternatives[] = $before . preg_quote($old, '#') . $after;
	}
	$result = array('changed' => array(), 'warnings' => array());
	if (!$map) {
		$result['changed'] = (object) array();
		return $result;
	}
	// One pass over each string: a replacement is never replaced again.
	$pattern = '#' . implode('|', $alternatives) . '#';
	$replace = static function ($text) use ($pattern, $map) {
		return preg_replace_callback($pattern, static function ($m) use ($map) {
			return $map[$m[0]];
		}, $text);
	};
	$needles = array_unique(array($job['old_host'], $job['old_uri']));

	$columns = array(
		array($wpdb->options, 'option_id', 'option_value'),
		array($wpdb->posts, 'ID', 'post_content'),
		array($wpdb->posts, 'ID', 'post_excerpt'),
		array($wpdb->posts, 'ID', 'post_content_filtered'),
		array($wpdb->postmeta, 'meta_id', 'meta_value'),
		array($wpdb->comments, 'comment_ID', 'comment_content'),
		array($wpdb->comments, 'comment_ID', 'comment_author_url'),
		array($wpdb->commentmeta, 'meta_id', 'meta_value'),
		array($wpdb->termmeta, 'meta_id', 'meta_value'),
		array($wpdb->term_taxonomy, 'term_taxonomy_id', 'description'),
		array($wpdb->usermeta, 'umeta_id', 'meta_value'),
		array($wpdb->users, 'ID', 'user_url'),
		array($wpdb->links, 'link_id', 'link_url'),
		array($wpdb->links, 'link_id', 'link_image'),
	);
	$tables = array_flip((array) $wpdb->get_col('SHOW TABLES'));
	foreach ($columns as list($table, $key, $column)) {
		if (!isset($tables[$table])) {
			continue;
		}
		$likes = array();
		$args = array();
		foreach ($needles as $needle) {
			$likes[] = "`$column` LIKE %s";
			$args[] = '%' . $wpdb->esc_like($needle) . '%';
		}
		$name = preg_replace('/^' . preg_quote($wpdb->prefix, '/') . '/', '', $table) . '.' . $column;
		$last = 0;
		do {
			$rows = $wpdb->get_results($wpdb->prepare(
				"SELECT `$key` AS id, `$column` AS value FROM `$table` WHERE `$key` > %d AND (" . implode(' OR ', $likes) . ") ORDER BY `$key` LIMIT 500",
				array_merge(array($last), $args)
			), ARRAY_A);
			if ($wpdb->last_error !== '') {
				aegir_fail("read $name: " . $wpdb->last_error);
			}
			foreach ((array) $rows as $row) {
				$last = (int) $row['id'];
				$new = aegir_replace_value((string) $row['value'], $replace);
				if ($new === null) {
					$result['warnings'][] = "$name of row $last holds serialized data that does not unserialize: left unchanged";
					continue;
				}
				if ($new === $row['value']) {
					continue;
				}
				if ($wpdb->update($table, array($column => $new), array($key => $last), array('%s'), array('%d')) === false) {
					aegir_fail("write $name of row $last: " . $wpdb->last_error);
				}
				$result['changed'][$name] = ($result['changed'][$name] ?? 0) + 1;
			}
		} while (is_array($rows) && count($rows) === 500);
	}

	// The site answers at its new address, whatever the old one held.
	foreach (array('siteurl', 'home') as $option) {
		$value = (string) $wpdb->get_var($wpdb->prepare("SELECT option_value FROM $wpdb->options WHERE option_name = %s", $option));
		if ($value !== $job['new_url'] && strpos($value, $job['new_url'] . '/') !== 0) {
			if ($wpdb->update($wpdb->options, array('option_value' => $job['new_url']), array('option_name' => $option)) === false) {
				aegir_fail("write the $option option: " . $wpdb->last_error);
			}
			$result['changed']['options.' . $option] = 1;
		}
	}
	wp_cache_flush();
	$result['changed'] = (object) $result['changed'];
	return $result;
}

/**
 * aegir_replace_value returns $value with $replace done on it: on the
 * strings inside when it is PHP-serialized (their lengths recomputed, and
 * nested serialized strings rewritten too), else on the whole text. It
 * returns null for serialized data that would not unserialize after the
 * replacement.
 */
function aegir_replace_value($value, $replace) {
	if (!is_serialized($value)) {
		return $replace($value);
	}
	// WordPress unserializes the trimmed value: keep what surrounds it.
	$data = trim($value);
	$start = strpos($value, $data);
	$pos = 0;
	$new = aegir_serialized($data, $pos, $replace, 0);
	if ($new === null || $pos !== strlen($data)) {
		return $replace($value) === $value ? $value : null;
	}
	if ($new !== $data && $new !== 'b:0;' && @unserialize($new, array('allowed_classes' => false)) === false) {
		return null;
	}
	return substr($value, 0, $start) . $new . substr($value, $start + strlen($data));
}

/**
 * aegir_serialized reads the serialized value at $pos of $s, advancing
 * $pos, and returns it with $replace done on its strings (not on array
 * keys nor property names, which are left as they are, nor inside the
 * opaque data of Serializable objects). It returns null when $s is not
 * serialized data there.
 */
function aegir_serialized($s, &$pos, $replace, $depth) {
	if ($depth > 512) {
		return null;
	}
	switch ($s[$pos] ?? '') {
	case 'N':
		if (substr($s, $pos, 2) !== 'N;') {
			return null;
		}
		$pos += 2;
		return 'N;';
	case 'b':
	case 'i':
	case 'd':
	case 'r':
	case 'R':
		if (!preg_match('/\G[bidrR]:[^;:"{}]+;/', $s, $m, 0, $pos)) {
			return null;
		}
		$pos += strlen($m[0]);
		return $m[0];
	case 's':
		if (!preg_match('/\Gs:(\d+):"/', $s, $m, 0, $pos)) {
			return null;
		}
		$start = $pos + strlen($m[0]);
		$len = (int) $m[1];
		if (substr($s, $start + $len, 2) !== '";') {
			return null;
		}
		$text = substr($s, $start, $len);
		$pos = $start + $len + 2;
		if ($replace !== null) {
			$new = aegir_replace_value($text, $replace);
			$text = $new === null ? $text : $new;
		}
		return 's:' . strlen($text) . ':"' . $text . '";';
	case 'a':
		if (!preg_match('/\Ga:(\d+):\{/', $s, $m, 0, $pos)) {
			return null;
		}
		$pos += strlen($m[0]);
		$members = aegir_serialized_members($s, $pos, 2 * (int) $m[1], $replace, $depth);
		return $members === null ? null : $m[0] . $members;
	case 'O':
		if (!preg_match('/\GO:(\d+):"([^"]*)":(\d+):\{/', $s, $m, 0, $pos) || strlen($m[2]) !== (int) $m[1]) {
			return null;
		}
		$pos += strlen($m[0]);
		$members = aegir_serialized_members($s, $pos, 2 * (int) $m[3], $replace, $depth);
		return $members === null ? null : $m[0] . $members;
	case 'C':
		// A Serializable object: its data is its own format, kept as is.
		if (!preg_match('/\GC:(\d+):"([^"]*)":(\d+):\{/', $s, $m, 0, $pos) || strlen($m[2]) !== (int) $m[1]) {
			return null;
		}
		$end = $pos + strlen($m[0]) + (int) $m[3];
		if (($s[$end] ?? '') !== '}') {
			return null;
		}
		$out = substr($s, $pos, $end + 1 - $pos);
		$pos = $end + 1;
		return $out;
	case 'E':
		if (!preg_match('/\GE:(\d+):"/', $s, $m, 0, $pos)) {
			return null;
		}
		$end = $pos + strlen($m[0]) + (int) $m[1];
		if (substr($s, $end, 2) !== '";') {
			return null;
		}
		$out = substr($s, $pos, $end + 2 - $pos);
		$pos = $end + 2;
		return $out;
	}
	return null;
}

/**
 * aegir_serialized_members reads $n values (keys and values alternating)
 * and the closing brace of an array or object at $pos of $s.
 */
function aegir_serialized_members($s, &$pos, $n, $replace, $depth) {
	$out = '';
	for ($i = 0; $i < $n; $i++) {
		$member = aegir_serialized($s, $pos, $i % 2 === 0 ? null : $replace, $depth + 1);
		if ($member === null) {
			return null;
		}
		$out .= $member;
	}
	if (($s[$pos] ?? '') !== '}') {
		return null;
	}
	$pos++;
	return $out . '}';
}

/**
 * aegir_options returns the named options of the site, read straight from
 * its options table with the given table prefix, without loading
 * WordPress. A database without the table or the siteurl option holds no
 * WordPress site: that is a failure.
 */
function aegir_options($prefix, array $names) {
	if (!preg_match('/^[A-Za-z0-9_]+$/D', $prefix)) {
		aegir_fail('invalid table prefix ' . $prefix);
	}
	mysqli_report(MYSQLI_REPORT_OFF);
	$db = mysqli_init();
	if (!@mysqli_real_connect($db, (string) getenv('db_host'), (string) getenv('db_user'), (string) getenv('db_passwd'), (string) getenv('db_name'), (int) getenv('db_port'))) {
		aegir_fail(sprintf('cannot connect to database %s on %s:%s as %s', getenv('db_name'), getenv('db_host'), getenv('db_port'), getenv('db_user')));
	}
	$list = implode(', ', array_map(static function ($name) use ($db) {
		return "'" . mysqli_real_escape_string($db, $name) . "'";
	}, $names));
	$rows = mysqli_query($db, "SELECT option_name, option_value FROM `{$prefix}options` WHERE option_name IN ($list)");
	if ($rows === false) {
		aegir_fail(sprintf('WordPress is not installed in database %s: %s', getenv('db_name'), mysqli_error($db)));
	}
	$options = array();
	while ($row = mysqli_fetch_row($rows)) {
		$options[$row[0]] = $row[1];
	}
	mysqli_close($db);
	if (!isset($options['siteurl'])) {
		aegir_fail(sprintf('WordPress is not installed in database %s', getenv('db_name')));
	}
	return $options;
}

/**
 * aegir_cron_lock is the doing_cron lock as wp-cron.php's _get_cron_lock()
 * reads it: from the database, not a cache another run cannot see.
 */
function aegir_cron_lock() {
	global $wpdb;
	if (wp_using_ext_object_cache()) {
		return wp_cache_get('doing_cron', 'transient', true);
	}
	$row = $wpdb->get_row($wpdb->prepare("SELECT option_value FROM $wpdb->options WHERE option_name = %s LIMIT 1", '_transient_doing_cron'));
	return is_object($row) ? $row->option_value : 0;
}

/**
 * aegir_flush_cache empties the object cache (a persistent one too, when
 * the site has a drop-in) and deletes every transient, as "wp cache flush"
 * and "wp transient delete --all" do; it returns how many transient rows
 * went.
 */
function aegir_flush_cache() {
	global $wpdb;
	wp_cache_flush();
	$like = array($wpdb->esc_like('_transient_') . '%', $wpdb->esc_like('_site_transient_') . '%');
	$deleted = $wpdb->query($wpdb->prepare("DELETE FROM $wpdb->options WHERE option_name LIKE %s OR option_name LIKE %s", $like[0], $like[1]));
	if ($deleted === false) {
		aegir_fail('deleting the transients failed: ' . $wpdb->last_error);
	}
	return array('transients' => (int) $deleted);
}

/**
 * aegir_cron runs the due cron events as wp-cron.php does: each event
 * rescheduled (if recurring) and unscheduled before its hook runs, under
 * the doing_cron lock, stopping when another run takes the lock. Unlike
 * wp-cron.php, and like wp-cli, it takes the lock even when it is held:
 * every page view that finds events due sets the lock before its loopback
 * request to wp-cron.php, so on a site that cannot reach itself the lock
 * is held most of the time by runs that never happen. A wp-cron.php run
 * that is really going stops after its current event when it sees the
 * lock taken.
 */
function aegir_cron() {
	$result = array('ran' => array());
	$crons = wp_get_ready_cron_jobs();
	if (!$crons) {
		return $result;
	}
	$now = microtime(true);
	$doing = sprintf('%.22F', $now);
	set_transient('doing_cron', $doing);
	foreach ($crons as $timestamp => $hooks) {
		if ($timestamp > $now) {
			break;
		}
		foreach ($hooks as $hook => $events) {
			foreach ($events as $event) {
				if ($event['schedule']) {
					wp_reschedule_event($timestamp, $event['schedule'], $hook, $event['args']);
				}
				wp_unschedule_event($timestamp, $hook, $event['args']);
				do_action_ref_array($hook, $event['args']);
				$result['ran'][] = $hook;
				if (aegir_cron_lock() !== $doing) {
					return $result;
				}
			}
		}
	}
	if (aegir_cron_lock() === $doing) {
		delete_transient('doing_cron');
	}
	return $result;
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

case 'packages':
	// Straight from the options table, without loading WordPress: no
	// plugin runs, and the site's settings need not be in place yet (a
	// deploy checks the packages of a database it has just imported).
	$options = aegir_options((string) ($aegir_job['prefix'] ?? 'wp_'), array('siteurl', 'db_version', 'active_plugins', 'stylesheet', 'template'));
	$plugins = @unserialize($options['active_plugins'] ?? 'a:0:{}', array('allowed_classes' => false));
	$aegir_result = array(
		'db_version' => (int) ($options['db_version'] ?? 0),
		'plugins'    => array_values(array_filter(is_array($plugins) ? $plugins : array(), 'is_string')),
		'stylesheet' => (string) ($options['stylesheet'] ?? ''),
		'template'   => (string) ($options['template'] ?? ''),
	);
	break;

case 'address':
	// Read as the packages are: a verify asks on every run, so no more
	// than a query.
	$options = aegir_options((string) ($aegir_job['prefix'] ?? 'wp_'), array('siteurl', 'home'));
	$aegir_result = array(
		'home'    => (string) ($options['home'] ?? ''),
		'siteurl' => (string) $options['siteurl'],
	);
	break;

case 'update':
	// As wp-admin/upgrade.php: no plugin is loaded while installing.
	define('WP_INSTALLING', true);
	require $aegir_job['root'] . '/wp-load.php';
	require_once ABSPATH . 'wp-admin/includes/upgrade.php';
	if (!is_blog_installed()) {
		aegir_fail('WordPress is not installed in database ' . DB_NAME);
	}
	$from = (int) get_option('db_version');
	$code = (int) $GLOBALS['wp_db_version'];
	if ($from > $code) {
		aegir_fail(sprintf('the database is at WordPress schema %d, newer than the %d of this codebase (WordPress %s): it cannot be downgraded', $from, $code, $GLOBALS['wp_version']));
	}
	if ($from !== $code) {
		wp_upgrade();
		wp_cache_flush();
	}
	$to = (int) $wpdb->get_var($wpdb->prepare("SELECT option_value FROM $wpdb->options WHERE option_name = %s", 'db_version'));
	if ($to !== $code) {
		aegir_fail(sprintf('wp_upgrade() left the database at schema %d, not %d', $to, $code));
	}
	$aegir_result = array('from' => $from, 'to' => $to, 'updated' => $from !== $to);
	break;

case 'rewrite':
	define('SHORTINIT', true);
	require $aegir_job['root'] . '/wp-load.php';
	if (!is_blog_installed()) {
		aegir_fail('WordPress is not installed in database ' . DB_NAME);
	}
	$aegir_result = aegir_rewrite($aegir_job);
	break;

case 'cron':
	define('DOING_CRON', true);
	require $aegir_job['root'] . '/wp-load.php';
	$aegir_result = aegir_cron();
	break;

case 'flush-cache':
	require $aegir_job['root'] . '/wp-load.php';
	$aegir_result = aegir_flush_cache();
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
