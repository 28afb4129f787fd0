<?php
/**
 * @file
 * aegir's Drupal 7 login helper: bootstraps the site fully and makes a
 * one-time login link for user 1, the account the installer made.
 *
 * The job holds uri (which picks sites/<uri>) and url (the site's address,
 * with the port when it is not the default, which the link starts with).
 *
 * Result: {"link": "http://.../user/reset/1/<timestamp>/<hash>/login"}.
 */

$job = $aegir_job;
aegir_bootstrap($job['uri'], 'DRUPAL_BOOTSTRAP_FULL');

// url() builds absolute links from $base_url, which Drupal derived from the
// Host above: make it the site's real address.
$GLOBALS['base_url'] = rtrim($job['url'], '/');

$account = user_load(1);
if (!$account || empty($account->uid)) {
  aegir_fail('the site has no user 1');
}
if (empty($account->status)) {
  aegir_fail("user 1 ($account->name) is blocked");
}
aegir_done(array('link' => user_pass_reset_url($account) . '/login', 'name' => $account->name));
