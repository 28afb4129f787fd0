<?php
/**
 * @file
 * aegir's Drupal 7 site packages helper: lists what the site's database
 * says is enabled, from the {system} table, with the schema version each
 * module is at. Versions are the driver's to read from the platform's .info
 * files: the table keeps those of the codebase the site last ran on.
 *
 * The job holds uri.
 *
 * Result: {"packages": [{"name": ..., "type": "module"|"theme",
 * "filename": ..., "schema_version": N}, ...]}, where filename is relative to
 * the platform root.
 */

$job = $aegir_job;
aegir_bootstrap($job['uri'], 'DRUPAL_BOOTSTRAP_DATABASE');

try {
  $rows = db_query("SELECT name, type, filename, schema_version FROM {system} WHERE status = 1 AND type IN ('module', 'theme') ORDER BY type, name")->fetchAll(PDO::FETCH_ASSOC);
}
catch (Exception $e) {
  aegir_fail('cannot read the {system} table: ' . $e->getMessage());
}
foreach ($rows as &$row) {
  $row['schema_version'] = (int) $row['schema_version'];
}
aegir_done(array('packages' => $rows));
