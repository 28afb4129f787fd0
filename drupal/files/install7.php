<?php
/**
 * @file
 * aegir's Drupal 7 install helper: runs Drupal's own installer,
 * install_drupal(), non-interactively for one site of a multisite platform.
 *
 * The job holds uri, profile, locale, site_name, site_mail, account_name,
 * account_mail and account_pass. The site's settings.php is already written
 * and reads the database from the db_* environment variables, so the
 * installer finds the site configured: it skips its database form and
 * never writes a settings.php of its own. The database form is filled in
 * from the same variables all the same, as the installer expects it.
 *
 * Result: {"profile": ..., "locale": ..., "warnings": [...], "messages": [...]}:
 * warnings are what the task should warn about (a missing translation, the
 * installer's error messages), messages the installer's other messages.
 */

$job = $aegir_job;
define('MAINTENANCE_MODE', 'install');
$server = aegir_server($job['uri'], 'install.php');

$warnings = array();
$profile = $job['profile'];
if (!is_file(DRUPAL_ROOT . "/profiles/$profile/$profile.profile")) {
  aegir_fail("there is no install profile \"$profile\" in profiles/");
}

// Drupal 7 installs another language only from a translation shipped with
// the profile (profiles/<profile>/translations/<code>.po).
$locale = $job['locale'];
if ($locale !== 'en') {
  $found = FALSE;
  foreach ((array) glob(DRUPAL_ROOT . "/profiles/$profile/translations/*.po") as $file) {
    if (preg_replace('!^(.+\.)?([^\.]+)$!', '\2', basename($file, '.po')) === $locale) {
      $found = TRUE;
    }
  }
  if (!$found) {
    $warnings[] = "profile $profile has no $locale translation (profiles/$profile/translations/$locale.po): installed in English";
    $locale = 'en';
  }
}

$driver = getenv('db_type') ? getenv('db_type') : 'mysql';

// Drupal reports a database it cannot reach as "already installed": try it
// first, for a message that says what is wrong.
try {
  $dsn = $driver . ':host=' . getenv('db_host') . ';port=' . getenv('db_port') . ';dbname=' . getenv('db_name');
  $pdo = new PDO($dsn, getenv('db_user'), getenv('db_passwd'));
  $pdo = NULL;
}
catch (Exception $e) {
  aegir_fail('cannot connect to database ' . getenv('db_name') . ' as ' . getenv('db_user') . ' on ' . getenv('db_host') . ':' . getenv('db_port') . ': ' . $e->getMessage());
}
$pass = $job['account_pass'];
$settings = array(
  'interactive' => FALSE,
  'server' => $server,
  'parameters' => array(
    'profile' => $profile,
    'locale' => $locale,
  ),
  'forms' => array(
    'install_settings_form' => array(
      'driver' => $driver,
      $driver => array(
        'database' => getenv('db_name'),
        'username' => getenv('db_user'),
        'password' => getenv('db_passwd'),
        'host' => getenv('db_host'),
        'port' => getenv('db_port'),
        'db_prefix' => '',
      ),
    ),
    'install_configure_form' => array(
      'site_name' => $job['site_name'],
      'site_mail' => $job['site_mail'],
      'account' => array(
        'name' => $job['account_name'],
        'mail' => $job['account_mail'],
        'pass' => array('pass1' => $pass, 'pass2' => $pass),
      ),
      'site_default_country' => '',
      'date_default_timezone' => date_default_timezone_get(),
      'clean_url' => TRUE,
      // Checkboxes submitted by a program need NULL for "off": FALSE is
      // rejected as an illegal choice.
      'update_status_module' => array(1 => NULL, 2 => NULL),
    ),
  ),
);

require_once DRUPAL_ROOT . '/includes/install.core.inc';
try {
  install_drupal($settings);
}
catch (Exception $e) {
  aegir_fail('the Drupal installer failed: ' . $e->getMessage());
}
catch (Throwable $e) {
  aegir_fail('the Drupal installer failed: ' . $e->getMessage() . ' in ' . $e->getFile() . ':' . $e->getLine());
}

if (empty($GLOBALS['install_state']['installation_finished'])) {
  aegir_fail('the Drupal installer stopped before the end: ' . implode(' ', aegir_messages(array('error'))));
}
foreach (aegir_messages(array('error')) as $message) {
  $warnings[] = $message;
}
aegir_done(array(
  'profile' => $profile,
  'locale' => $locale,
  'warnings' => $warnings,
  'messages' => aegir_messages(array('warning', 'status')),
));
