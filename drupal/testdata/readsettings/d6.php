<?php
// Drupal 6 style.
$db_url = 'mysqli://d6user:p%40ss@127.0.0.1:3308/d6db';
$db_prefix = 'd6_';
$update_free_access = FALSE;
