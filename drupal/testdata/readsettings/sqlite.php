<?php
$databases['default']['default'] = array(
  'driver' => 'sqlite',
  'database' => 'sites/default/files/.ht.sqlite',
);
