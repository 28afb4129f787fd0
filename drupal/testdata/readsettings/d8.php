<?php
// phpcs:ignoreFile
$databases = [];
$settings['hash_salt'] = 'abc';
$databases['default']['default'] = array (
  'database' => 'd8site',
  'username' => 'd8user',
  'password' => 'not-this-one',
  'prefix' => '',
  'host' => 'db.internal',
  'port' => '3306',
  'namespace' => 'Drupal\\Core\\Database\\Driver\\mysql',
  'driver' => 'mysql',
);
$settings['install_profile'] = 'umami';
$settings['config_sync_directory'] = 'sites/default/files/config_' . $settings['hash_salt'] . '/sync';

if (file_exists($app_root . '/' . $site_path . '/settings.local.php')) {
  include $app_root . '/' . $site_path . '/settings.local.php';
}
