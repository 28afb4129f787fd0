<?php
/**
 * @file
 * aegir's helper reading an existing Drupal site's install profile and
 * default language from its database, for an import: it connects with PDO
 * (no Drupal bootstrap) with the credentials of the db_* environment
 * variables, which the driver read from the site's settings.php.
 *
 * The job holds major (7 or more) and prefix (the tables' prefix).
 *
 * Drupal 7 keeps both in {variable}: install_profile (a string) and
 * language_default (an object with a language property), the latter only
 * when the locale module set it. Drupal 8+ keeps them in {config}:
 * core.extension's profile and system.site's default_langcode.
 *
 * Result: {"profile": ..., "language": ...}, empty strings for what the
 * database does not say.
 */

$job = $aegir_job;
$driver = getenv('db_type') ? getenv('db_type') : 'mysql';
try {
  if ($driver === 'pgsql') {
    $dsn = 'pgsql:host=' . getenv('db_host') . ';port=' . getenv('db_port') . ';dbname=' . getenv('db_name');
  }
  else {
    $dsn = 'mysql:host=' . getenv('db_host') . ';port=' . getenv('db_port') . ';dbname=' . getenv('db_name');
  }
  $pdo = new PDO($dsn, getenv('db_user'), getenv('db_passwd'), array(PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION));
}
catch (Exception $e) {
  aegir_fail('cannot connect to database ' . getenv('db_name') . ' as ' . getenv('db_user') . ' on ' . getenv('db_host') . ':' . getenv('db_port') . ': ' . $e->getMessage());
}

$prefix = preg_replace('/[^A-Za-z0-9_]/', '', (string) $job['prefix']);
$profile = '';
$language = '';
try {
  if ($job['major'] == 7) {
    $query = $pdo->query("SELECT name, value FROM {$prefix}variable WHERE name IN ('install_profile', 'language_default')");
    foreach ($query->fetchAll(PDO::FETCH_KEY_PAIR) as $name => $raw) {
      $value = @unserialize($raw, array('allowed_classes' => FALSE));
      if ($name === 'install_profile' && is_string($value)) {
        $profile = $value;
      }
      elseif ($name === 'language_default' && is_object($value)) {
        $value = (array) $value;
        if (isset($value['language']) && is_string($value['language'])) {
          $language = $value['language'];
        }
      }
    }
  }
  else {
    $query = $pdo->query("SELECT name, data FROM {$prefix}config WHERE collection = '' AND name IN ('core.extension', 'system.site')");
    foreach ($query->fetchAll(PDO::FETCH_KEY_PAIR) as $name => $raw) {
      $value = @unserialize($raw, array('allowed_classes' => FALSE));
      if ($name === 'core.extension' && isset($value['profile']) && is_string($value['profile'])) {
        $profile = $value['profile'];
      }
      elseif ($name === 'system.site' && isset($value['default_langcode']) && is_string($value['default_langcode'])) {
        $language = $value['default_langcode'];
      }
    }
  }
}
catch (Exception $e) {
  aegir_fail('cannot read the site\'s profile and language from database ' . getenv('db_name') . ': ' . $e->getMessage());
}
aegir_done(array('profile' => $profile, 'language' => $language));
