<?php
$version = '1.0';
