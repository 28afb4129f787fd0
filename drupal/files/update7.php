<?php
/**
 * @file
 * aegir's Drupal 7 database update helper: runs the site's pending
 * hook_update_N() functions non-interactively, the way update.php does
 * through the batch API, without the batch API.
 *
 * It prepares and bootstraps Drupal as update.php does (MAINTENANCE_MODE
 * 'update', update_prepare_d7_bootstrap(), update_fix_d7_requirements(),
 * a full bootstrap, drupal_load_updates(), update_fix_compatibility()), stops
 * on a requirement error of hook_requirements('update'), then takes the
 * pending updates from update_get_update_list(), orders them with
 * update_resolve_dependencies() and runs each with update_do_one(), again
 * and again while a multi-pass update reports it is not finished. The site
 * is in maintenance mode meanwhile (unless it already was), and the caches
 * are flushed at the end, as update_finished() does.
 *
 * The job holds uri.
 *
 * Result: {"updates": ["node_update_7016", ...], "warnings": [...],
 * "messages": [...]}. The first update that fails stops the run: the updates
 * done before it stay done, and the failure names it.
 */

$job = $aegir_job;
define('MAINTENANCE_MODE', 'update');
aegir_server($job['uri'], 'update.php');

/**
 * Keeps requirements found before the full bootstrap, as update.php does
 * (update.inc calls it).
 */
function update_extra_requirements($requirements = NULL) {
  static $extra_requirements = array();
  if (isset($requirements)) {
    $extra_requirements += $requirements;
  }
  return $extra_requirements;
}

/**
 * Puts the site back online if it was online before the run.
 */
function aegir_update_online() {
  global $aegir_was_offline;
  if (isset($aegir_was_offline) && !$aegir_was_offline) {
    variable_set('maintenance_mode', FALSE);
    $aegir_was_offline = NULL;
  }
}

/**
 * Finishes the run as update_finished() does, then fails with message.
 */
function aegir_update_fail($message) {
  try {
    drupal_flush_all_caches();
  }
  catch (Throwable $e) {
    $message .= '; flushing the caches afterwards failed too: ' . $e->getMessage();
  }
  aegir_update_online();
  aegir_fail($message);
}

try {
  require_once DRUPAL_ROOT . '/includes/bootstrap.inc';
  require_once DRUPAL_ROOT . '/includes/update.inc';
  require_once DRUPAL_ROOT . '/includes/common.inc';
  require_once DRUPAL_ROOT . '/includes/file.inc';
  require_once DRUPAL_ROOT . '/includes/entity.inc';
  require_once DRUPAL_ROOT . '/includes/unicode.inc';
  update_prepare_d7_bootstrap();

  // As update.php: the site-wide timezone until user_update_7002() ran.
  $configurable_timezones = variable_get('configurable_timezones', 1);
  $conf['configurable_timezones'] = 0;
  drupal_bootstrap(DRUPAL_BOOTSTRAP_SESSION);
  $conf['configurable_timezones'] = $configurable_timezones;

  drupal_bootstrap(DRUPAL_BOOTSTRAP_LANGUAGE);
  include_once DRUPAL_ROOT . '/includes/unicode.inc';
  update_fix_d7_requirements();
  drupal_bootstrap(DRUPAL_BOOTSTRAP_FULL);

  include_once DRUPAL_ROOT . '/includes/install.inc';
  drupal_load_updates();
  update_fix_compatibility();
}
catch (Throwable $e) {
  aegir_fail('Drupal did not start for its updates: ' . $e->getMessage() . ' in ' . $e->getFile() . ':' . $e->getLine());
}

// Requirement errors stop the run, as update.php stops at its requirements
// page; warnings are reported.
$warnings = array();
$requirements = module_invoke_all('requirements', 'update') + update_extra_requirements();
$errors = array();
foreach ($requirements as $requirement) {
  if (!isset($requirement['severity']) || $requirement['severity'] < REQUIREMENT_WARNING) {
    continue;
  }
  $text = aegir_text((isset($requirement['title']) ? $requirement['title'] . ': ' : '') . (isset($requirement['value']) ? $requirement['value'] . ' ' : '') . (isset($requirement['description']) ? $requirement['description'] : ''));
  if ($requirement['severity'] == REQUIREMENT_ERROR) {
    $errors[] = $text;
  }
  else {
    $warnings[] = $text;
  }
}
if ($errors) {
  aegir_fail('the site does not meet the requirements of its updates: ' . implode('; ', $errors));
}

$pending = update_get_update_list();
$start = array();
$blocked = array();
foreach ($pending as $module => $info) {
  if (isset($info['start'])) {
    $start[$module] = $info['start'];
  }
  if (isset($info['warning'])) {
    $blocked[] = aegir_text($info['warning']);
  }
}
if ($blocked) {
  aegir_fail('updates cannot run: ' . implode('; ', $blocked));
}
if (!$start) {
  aegir_done(array('updates' => array(), 'warnings' => $warnings, 'messages' => aegir_messages(array('warning', 'status'))));
}

// As update_batch(): offline during the updates.
$aegir_was_offline = (bool) variable_get('maintenance_mode', FALSE);
if (!$aegir_was_offline) {
  variable_set('maintenance_mode', TRUE);
}

$updates = update_resolve_dependencies($start);
$dependency_map = array();
foreach ($updates as $function => $update) {
  $dependency_map[$function] = !empty($update['reverse_paths']) ? array_keys($update['reverse_paths']) : array();
}
foreach ($updates as $function => $update) {
  if (empty($update['allowed'])) {
    $missing = empty($update['missing_dependencies']) ? '' : ': it needs ' . implode(', ', $update['missing_dependencies']);
    aegir_update_fail("update $function cannot run$missing");
  }
}

$done = array();
$results = array();
foreach ($updates as $function => $update) {
  // As update_batch(): start each module where the list says.
  if (isset($start[$update['module']])) {
    drupal_set_installed_schema_version($update['module'], $update['number'] - 1);
    unset($start[$update['module']]);
  }
  $context = array('sandbox' => array(), 'results' => $results, 'finished' => 1);
  do {
    $before = serialize(array($context['sandbox'], $context['finished']));
    $context['finished'] = 1;
    try {
      update_do_one($update['module'], $update['number'], $dependency_map[$function], $context);
    }
    catch (Throwable $e) {
      aegir_update_fail("update $function failed: " . $e->getMessage() . ' in ' . $e->getFile() . ':' . $e->getLine());
    }
    $results = $context['results'];
    if (!empty($results['#abort'])) {
      $result = $results[$update['module']][$update['number']];
      $why = isset($result['#abort']['query']) ? $result['#abort']['query'] : 'aborted';
      aegir_update_fail("update $function failed: " . aegir_text($why));
    }
    if ($context['finished'] < 1 && serialize(array($context['sandbox'], $context['finished'])) === $before) {
      aegir_update_fail("update $function made no progress: it reports it is not finished and leaves its sandbox as it was");
    }
  } while ($context['finished'] < 1);
  $done[] = $function;
}

// As update_finished().
variable_del('update_d6');
try {
  drupal_flush_all_caches();
}
catch (Throwable $e) {
  $warnings[] = 'flushing the caches after the updates failed: ' . $e->getMessage();
}
aegir_update_online();
aegir_done(array('updates' => $done, 'warnings' => $warnings, 'messages' => aegir_messages(array('warning', 'status'))));
