<?php

/**
 * @file
 * Drupal site-specific configuration file, as Drupal 7's installer leaves it
 * (shortened).
 *
 * Database settings:
 *
 * @code
 * $databases['default']['default'] = array(
 *   'driver' => 'mysql',
 *   'database' => 'databasename',
 *   'username' => 'username',
 *   'password' => 'password',
 *   'host' => 'localhost',
 *   'prefix' => '',
 * );
 * @endcode
 */
$databases = array (
  'default' => 
  array (
    'default' => 
    array (
      'database' => 'd7site',
      'username' => 'd7user',
      'password' => 'it\'s $ecret',
      'host' => 'localhost',
      'port' => '',
      'driver' => 'mysql',
      'prefix' => '',
    ),
  ),
);

$update_free_access = FALSE;
$drupal_hash_salt = 'kOm5y8c4eqB0C8Vq4hM0oVNi0g3Ql9b4Hcv6wQ1HkSg';

ini_set('session.gc_probability', 1);
ini_set('session.gc_divisor', 100);

# $base_url = 'http://www.example.com';  // NO trailing slash!
$conf['404_fast_paths_exclude'] = '/\/(?:styles)|(?:system\/files)\//';
$conf['404_fast_html'] = '<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>';
