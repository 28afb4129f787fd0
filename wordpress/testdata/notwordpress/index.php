<?php
// Not WordPress: a plain PHP site with a version.php of its own.
echo "hello";
