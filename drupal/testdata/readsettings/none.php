<?php
$conf['site_name'] = 'No database here';
