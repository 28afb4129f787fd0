<?php
// Not MediaWiki: no WebStart.php, no MW_VERSION.
define( 'APP_VERSION', '2.0' );
