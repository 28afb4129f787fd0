<?php
/**
 * Plugin Name: aegir login links
 * Description: Logs the site's administrator in through a one-time login link made by aegir. Written by aegir: a verify of the platform rewrites this file.
 * Version: 1.0
 *
 * aegir stores the sha256 of a random token, the id of the user to log in
 * and an expiry time in the aegir_login_token option, and hands out
 * <site>/wp-login.php?aegir_login=<token>. The first request that shows the
 * token before it expires deletes the option and is logged in; any other
 * request with an aegir_login parameter gets a 403.
 */

defined('ABSPATH') || exit;

add_action('init', static function () {
	if (!isset($_GET['aegir_login'])) {
		return;
	}
	nocache_headers();
	$token  = is_string($_GET['aegir_login']) ? wp_unslash($_GET['aegir_login']) : '';
	$stored = get_option('aegir_login_token');
	$valid  = $token !== ''
		&& is_array($stored)
		&& isset($stored['hash'], $stored['user'], $stored['expires'])
		&& is_string($stored['hash'])
		&& (int) $stored['expires'] >= time()
		&& hash_equals($stored['hash'], hash('sha256', $token));
	// The link is one-time: of several requests racing with the same token,
	// only the one whose delete removes the option logs in.
	if (!$valid || !delete_option('aegir_login_token')) {
		wp_die(
			esc_html__('This login link is invalid, has expired or has already been used.'),
			esc_html__('Login link'),
			array('response' => 403)
		);
	}
	$user = get_user_by('id', (int) $stored['user']);
	if (!$user) {
		wp_die(esc_html__('The user of this login link no longer exists.'), esc_html__('Login link'), array('response' => 403));
	}
	wp_set_current_user($user->ID);
	wp_set_auth_cookie($user->ID, false);
	do_action('wp_login', $user->user_login, $user);
	wp_safe_redirect(admin_url());
	exit;
}, 1);
