<?php
/**
 * @file
 * aegir's Drupal 7 cache helper: bootstraps the site fully and calls
 * drupal_flush_all_caches(), as "drush cache-clear all" does.
 *
 * The job holds uri. Result: {"flushed": true}.
 */

$job = $aegir_job;
aegir_bootstrap($job['uri'], 'DRUPAL_BOOTSTRAP_FULL', 'index.php');
try {
  drupal_flush_all_caches();
}
catch (Throwable $e) {
  aegir_fail('flushing the caches failed: ' . $e->getMessage() . ' in ' . $e->getFile() . ':' . $e->getLine());
}
aegir_done(array('flushed' => TRUE));
?>
