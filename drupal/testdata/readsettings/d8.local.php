<?php
// The local settings override the host and password.
$databases['default']['default']['host'] = '127.0.0.1';
$databases['default']['default']['password'] = 'local-password';
