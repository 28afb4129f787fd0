<?php
/**
 * @file
 * aegir's Drupal 7 cron helper: bootstraps the site fully and runs
 * drupal_cron_run() once, as cron.php does for a request with the cron key.
 *
 * The job holds uri.
 *
 * Result: {"ran": true, "messages": [...]}, or {"ran": false, "reason":
 * ...} when cron did not run: the site is in maintenance mode (cron.php
 * refuses too), or its cron is already running (the cron lock is held).
 */

$job = $aegir_job;
aegir_bootstrap($job['uri'], 'DRUPAL_BOOTSTRAP_FULL', 'cron.php');

if (variable_get('maintenance_mode', 0)) {
  aegir_done(array('ran' => FALSE, 'reason' => 'the site is in maintenance mode'));
}
try {
  $ran = drupal_cron_run();
}
catch (Exception $e) {
  aegir_fail('cron failed: ' . $e->getMessage());
}
catch (Throwable $e) {
  aegir_fail('cron failed: ' . $e->getMessage() . ' in ' . $e->getFile() . ':' . $e->getLine());
}
if (!$ran) {
  aegir_done(array('ran' => FALSE, 'reason' => 'it is already running (the cron lock is held)'));
}
aegir_done(array('ran' => TRUE, 'messages' => aegir_messages(array('error', 'warning', 'status'))));
