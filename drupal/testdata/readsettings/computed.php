<?php
$databases['default']['default'] = array(
  'driver' => 'mysql',
  'database' => 'site',
  'username' => 'site',
  'password' => getenv('SITE_DB_PASSWORD'),
  'host' => 'localhost',
);
