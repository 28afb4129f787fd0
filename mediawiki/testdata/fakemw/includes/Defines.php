<?php
/**
 * The running version of MediaWiki.
 */
define( 'MW_VERSION', '1.41.0' );
