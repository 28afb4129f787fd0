<?php
/**
 * Plugin Name:       Foo Tools
 * Version:           2.0.1
 */
