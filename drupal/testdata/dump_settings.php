<?php
// Test helper: includes a settings file the way Drupal does and prints what
// it set, as JSON. Usage: php dump_settings.php <settings.php> <mode>, where
// mode "env" leaves the db_* values to getenv() only and "server" sets them
// in $_SERVER only (as php-fpm does with FastCGI parameters), from the JSON
// on standard input.
$file = $argv[1];
$names = array('db_type', 'db_name', 'db_user', 'db_passwd', 'db_host', 'db_port');
foreach ($names as $name) {
  unset($_SERVER[$name]);
}
if ($argv[2] === 'server') {
  foreach (json_decode(stream_get_contents(STDIN), TRUE) as $name => $value) {
    $_SERVER[$name] = $value;
  }
}
$app_root = dirname(dirname(dirname($file)));
$site_path = 'sites/' . basename(dirname($file));
$databases = $conf = $settings = array();
$drupal_hash_salt = NULL;
include $file;
echo json_encode(array(
  'databases' => $databases,
  'conf' => $conf ? $conf : new stdClass(),
  'settings' => $settings ? $settings : new stdClass(),
  'drupal_hash_salt' => $drupal_hash_salt,
));
