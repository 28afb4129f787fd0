<?php
/**
 * The WordPress version string.
 */
$wp_version = '6.4.2';
$wp_db_version = 56657;
