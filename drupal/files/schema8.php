<?php
/**
 * @file
 * aegir's Drupal 8+ schema versions helper, run by the platform's drush
 * (php:script) after the prelude: prints the schema version each installed
 * module's database is at, as one line of JSON {"<module>": N, ...}.
 */

if (\Drupal::hasService('update.update_hook_registry')) {
  // Drupal 9.3 and later.
  $versions = \Drupal::service('update.update_hook_registry')->getAllInstalledVersions();
}
else {
  require_once DRUPAL_ROOT . '/core/includes/install.inc';
  require_once DRUPAL_ROOT . '/core/includes/schema.inc';
  $versions = drupal_get_installed_schema_version(NULL, FALSE, TRUE);
}
$out = array();
foreach ($versions as $module => $version) {
  $out[$module] = (int) $version;
}
echo json_encode((object) $out), "\n";
