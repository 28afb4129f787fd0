<?php
// Written by hand, with the short array syntax, a port and a table prefix.
$databases['default']['default'] = [
  'driver' => 'mysql',
  'database' => "shortdb",
  'username' => "short",
  'password' => "pa\$\$word\"",
  'host' => '127.0.0.1',
  'port' => 3307,
  'prefix' => ['default' => 'd7_'],
];
$conf['install_profile'] = 'minimal';
