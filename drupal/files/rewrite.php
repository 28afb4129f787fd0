<?php
/**
 * @file
 * Functions shared by aegir's URI rewrite helpers for Drupal 7 and Drupal
 * 8+: they turn the old address and site directory of a cloned or renamed
 * site into its new ones, in text and in nested values.
 *
 * Two things are rewritten:
 * - the old address: "http://old.example.com", "https://old.example.com" and
 *   "//old.example.com" (with the old port, if it had one), not followed by
 *   more of a host name ("old.example.com.au", "old.example.com:8080" for an
 *   old address without that port), become the new address, with the new
 *   URL's scheme;
 * - the old site directory: "sites/old.example.com/", not preceded by more of
 *   a path or name, becomes "sites/new.example.com/" (also at the end of a
 *   value: "sites/old.example.com").
 */

/**
 * Returns the rewrite rules from the old uri and url to the new ones: a list
 * of array(pattern, replacement callback).
 */
function aegir_rewrite_rules($old_uri, $old_url, $new_uri, $new_url) {
  $rules = array();
  $end = '(?![\w-]|\.[\w-]|:\d)';
  $old = parse_url($old_url);
  $new = parse_url($new_url);
  if (!empty($old['host']) && !empty($new['host'])) {
    $old_auth = $old['host'] . (isset($old['port']) ? ':' . $old['port'] : '');
    $new_auth = $new['host'] . (isset($new['port']) ? ':' . $new['port'] : '');
    $scheme = isset($new['scheme']) ? $new['scheme'] : 'http';
    if (strtolower($old_auth) !== strtolower($new_auth) || $old_url !== $new_url) {
      $rules[] = array(
        '#(https?:)?//' . preg_quote($old_auth, '#') . $end . '#i',
        function ($m) use ($scheme, $new_auth) {
          return (empty($m[1]) ? '' : $scheme . ':') . '//' . $new_auth;
        },
      );
    }
  }
  if ($old_uri !== $new_uri) {
    $rules[] = array(
      '#(?<![\w.-])sites/' . preg_quote($old_uri, '#') . '(?=/|$|[^\w.-]|\.(?![\w-]))#',
      function ($m) use ($new_uri) {
        return 'sites/' . $new_uri;
      },
    );
  }
  return $rules;
}

/**
 * The strings a value must contain for a rule to change it, to find the rows
 * worth reading (LIKE '%...%').
 */
function aegir_rewrite_needles($old_uri, $old_url) {
  $needles = array('sites/' . $old_uri);
  $old = parse_url($old_url);
  if (!empty($old['host'])) {
    $needles[] = '//' . $old['host'] . (isset($old['port']) ? ':' . $old['port'] : '');
  }
  return $needles;
}

/**
 * Applies the rules to a string.
 */
function aegir_rewrite($text, $rules) {
  if (!is_string($text) || $text === '') {
    return $text;
  }
  foreach ($rules as $rule) {
    $text = preg_replace_callback($rule[0], $rule[1], $text);
  }
  return $text;
}

/**
 * Applies the rules to every string in a value: arrays and the public
 * properties of objects are walked.
 */
function aegir_rewrite_value($value, $rules) {
  if (is_string($value)) {
    return aegir_rewrite($value, $rules);
  }
  if (is_array($value)) {
    foreach ($value as $key => $item) {
      $value[$key] = aegir_rewrite_value($item, $rules);
    }
    return $value;
  }
  if (is_object($value) && !($value instanceof __PHP_Incomplete_Class)) {
    foreach (get_object_vars($value) as $key => $item) {
      $value->$key = aegir_rewrite_value($item, $rules);
    }
  }
  return $value;
}
?>
