<?php
/**
 * @file
 * Functions shared by aegir's Drupal 7 helpers, piped to PHP CLI on standard
 * input after a prelude that sets $aegir_job (the job, decoded from JSON) and
 * before the helper itself. The helpers run from the platform root, with the
 * site's db_* variables in the environment, where the site's settings.php
 * reads them.
 *
 * On success a helper writes one JSON object on standard output and exits 0.
 * On any failure it writes a plain-text message on standard error and exits
 * 1.
 */

if (PHP_SAPI !== 'cli' || !isset($aegir_job) || !is_array($aegir_job)) {
  file_put_contents('php://stderr', "aegir: this helper runs from the PHP command line with a job\n");
  exit(1);
}

// Drupal prints HTML on errors: keep standard output for the result and
// send PHP's own messages to standard error. Deprecation notices of old code
// on a new PHP would only bury the message that matters.
error_reporting(E_ALL & ~E_DEPRECATED & ~E_USER_DEPRECATED);
ini_set('display_errors', 'stderr');
ini_set('log_errors', '0');
ob_start();

$aegir_done = FALSE;

/**
 * Turns HTML into one line of text.
 */
function aegir_text($html) {
  $html = preg_replace('#<(br|/p|/li|/div|/h[1-6]|/tr|/title)\b[^>]*>#i', ' ', (string) $html);
  $text = html_entity_decode(strip_tags($html), ENT_QUOTES, 'UTF-8');
  return trim(preg_replace('/\s+/', ' ', $text));
}

/**
 * Ends the helper with an error message on standard error.
 */
function aegir_fail($message) {
  global $aegir_done;
  $aegir_done = TRUE;
  $output = '';
  while (ob_get_level() > 0) {
    $output .= ob_get_clean();
  }
  $message = aegir_text($message);
  $output = aegir_text($output);
  if ($output !== '') {
    $message .= ' (output: ' . substr($output, 0, 2000) . ')';
  }
  // PHP defines no STDERR constant for a script read from standard input.
  file_put_contents('php://stderr', $message . "\n");
  exit(1);
}

/**
 * Ends the helper with its result on standard output.
 */
function aegir_done($result) {
  global $aegir_done;
  $aegir_done = TRUE;
  while (ob_get_level() > 0) {
    ob_end_clean();
  }
  echo json_encode($result), "\n";
  exit(0);
}

/**
 * Collects Drupal's queued messages of the given types as plain text.
 */
function aegir_messages($types) {
  $messages = array();
  if (!function_exists('drupal_get_messages')) {
    return $messages;
  }
  foreach ($types as $type) {
    foreach (drupal_get_messages($type, TRUE) as $list) {
      foreach ($list as $message) {
        $messages[] = aegir_text($message);
      }
    }
  }
  return $messages;
}

// Drupal or PHP may stop the run before the helper reports: say so rather
// than exit 0 with nothing.
register_shutdown_function(function () {
  global $aegir_done;
  if (!$aegir_done) {
    $error = error_get_last();
    aegir_fail('the helper stopped early' . ($error ? ': ' . $error['message'] . ' in ' . $error['file'] . ':' . $error['line'] : ''));
  }
});

/**
 * Sets the request Drupal sees, so conf_path() picks sites/<uri>.
 */
function aegir_server($uri, $script) {
  $server = array(
    'HTTP_HOST' => $uri,
    'SERVER_NAME' => $uri,
    'SCRIPT_NAME' => '/' . $script,
    'SCRIPT_FILENAME' => DRUPAL_ROOT . '/' . $script,
    'REQUEST_URI' => '/' . $script,
    'PHP_SELF' => '/' . $script,
    'REMOTE_ADDR' => '127.0.0.1',
    'REQUEST_METHOD' => 'GET',
    'SERVER_SOFTWARE' => 'aegir',
    'HTTP_USER_AGENT' => 'aegir',
  );
  foreach ($server as $key => $value) {
    $_SERVER[$key] = $value;
  }
  return $server;
}

/**
 * Bootstraps the site at uri to a phase, named as the constant that
 * bootstrap.inc defines (it is not loaded yet), or fails with what stopped
 * Drupal.
 */
function aegir_bootstrap($uri, $phase, $script = 'index.php') {
  aegir_server($uri, $script);
  require_once DRUPAL_ROOT . '/includes/bootstrap.inc';
  try {
    drupal_bootstrap(constant($phase));
  }
  catch (Exception $e) {
    aegir_fail('Drupal did not start: ' . $e->getMessage());
  }
  catch (Throwable $e) {
    aegir_fail('Drupal did not start: ' . $e->getMessage() . ' in ' . $e->getFile() . ':' . $e->getLine());
  }
}

define('DRUPAL_ROOT', getcwd());
?>
