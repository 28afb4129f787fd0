<?php
  /**
   * The database credentials are stored in the Apache or Nginx vhost config
   * of this site, passed as server variables.
   */
  $databases['default']['default'] = array(
    'driver' => urldecode($_SERVER['db_type']),
    'database' => urldecode($_SERVER['db_name']),
    'username' => urldecode($_SERVER['db_user']),
    'password' => urldecode($_SERVER['db_passwd']),
    'host' => urldecode($_SERVER['db_host']),
    'port' => urldecode($_SERVER['db_port']),
  );
  $db_url['default'] = "$_SERVER[db_type]://$_SERVER[db_user]:$_SERVER[db_passwd]@$_SERVER[db_host]:$_SERVER[db_port]/$_SERVER[db_name]";
