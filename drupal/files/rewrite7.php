<?php
/**
 * @file
 * aegir's Drupal 7 URI rewrite helper: after a clone or a rename, turns the
 * site's old address and site directory into its new ones in its database
 * (see rewrite.php for the rules), then flushes every cache.
 *
 * Rewritten: the variables as stored in {variable} (file_public_path,
 * file_private_path, file_temporary_path, theme settings with a logo path,
 * and any other that holds them; $conf of settings.php only overrides what
 * variable_get() returns), the site name when it is the old uri (what the
 * install set), {file_managed}.uri, the value and summary of every text
 * field (body, comment_body...), current and revisions, and the bodies of
 * custom blocks.
 *
 * The job holds uri and url (the new ones), old_uri and old_url.
 *
 * Result: {"changed": {"<place>": <rows changed>, ...}}.
 */

$job = $aegir_job;
aegir_bootstrap($job['uri'], 'DRUPAL_BOOTSTRAP_FULL');

$rules = aegir_rewrite_rules($job['old_uri'], $job['old_url'], $job['uri'], $job['url']);
$needles = aegir_rewrite_needles($job['old_uri'], $job['old_url']);
$changed = array();

/**
 * Rewrites the columns of the rows of a table that hold a needle, each row
 * found by the table's primary key.
 */
function aegir_rewrite_table($table, $columns, $keys, $rules, $needles) {
  if (!$columns || !$keys || !db_table_exists($table)) {
    return 0;
  }
  $query = db_select($table, 't')->fields('t', array_unique(array_merge($keys, $columns)));
  $or = db_or();
  foreach ($columns as $column) {
    foreach ($needles as $needle) {
      $or->condition($column, '%' . db_like($needle) . '%', 'LIKE');
    }
  }
  $query->condition($or);
  $count = 0;
  foreach ($query->execute()->fetchAll(PDO::FETCH_ASSOC) as $row) {
    $fields = array();
    foreach ($columns as $column) {
      $new = aegir_rewrite($row[$column], $rules);
      if ($new !== $row[$column]) {
        $fields[$column] = $new;
      }
    }
    if ($fields) {
      $update = db_update($table)->fields($fields);
      foreach ($keys as $key) {
        $update->condition($key, $row[$key]);
      }
      $update->execute();
      $count++;
    }
  }
  return $count;
}

try {
  // Variables, from the table: variable_get() would return what
  // settings.php sets.
  $or = db_or();
  foreach ($needles as $needle) {
    $or->condition('value', '%' . db_like($needle) . '%', 'LIKE');
  }
  $rows = db_select('variable', 'v')->fields('v', array('name', 'value'))->condition($or)->execute()->fetchAllKeyed();
  $count = 0;
  foreach ($rows as $name => $raw) {
    $value = @unserialize($raw);
    if ($value === FALSE && $raw !== serialize(FALSE)) {
      continue;
    }
    $value = aegir_rewrite_value($value, $rules);
    if (serialize($value) !== $raw) {
      variable_set($name, $value);
      $count++;
    }
  }
  $site_name = db_query("SELECT value FROM {variable} WHERE name = 'site_name'")->fetchField();
  if ($site_name !== FALSE && @unserialize($site_name) === $job['old_uri']) {
    variable_set('site_name', $job['uri']);
    $count++;
  }
  $changed['variable'] = $count;

  $changed['file_managed'] = aegir_rewrite_table('file_managed', array('uri'), array('fid'), $rules, $needles);
  $changed['block_custom'] = aegir_rewrite_table('block_custom', array('body'), array('bid'), $rules, $needles);

  // Text fields: their value and summary columns, current and revisions.
  foreach (field_info_fields() as $field) {
    if ($field['module'] !== 'text' || $field['storage']['type'] !== 'field_sql_storage') {
      continue;
    }
    $columns = array();
    foreach (array('value', 'summary') as $column) {
      if (isset($field['columns'][$column])) {
        $columns[] = _field_sql_storage_columnname($field['field_name'], $column);
      }
    }
    foreach (_field_sql_storage_schema($field) as $table => $schema) {
      $changed[$table] = aegir_rewrite_table($table, $columns, $schema['primary key'], $rules, $needles);
    }
  }

  drupal_flush_all_caches();
}
catch (Throwable $e) {
  aegir_fail('rewriting ' . $job['old_uri'] . ' as ' . $job['uri'] . ' failed: ' . $e->getMessage() . ' in ' . $e->getFile() . ':' . $e->getLine());
}
aegir_done(array('changed' => $changed));
