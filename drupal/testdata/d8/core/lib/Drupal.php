<?php
// Fixture for the aegir drupal driver tests.
class Drupal {
  const VERSION = '10.2.3';
}
