<?php
/**
 * @file
 * aegir's Drupal 8+ URI rewrite helper, run by the platform's drush
 * (php:script) after the prelude and rewrite.php: turns the site's old
 * address and site directory into its new ones (see rewrite.php for the
 * rules), then flushes every cache.
 *
 * Rewritten: every configuration object that holds them (theme logo paths,
 * the site name when it is the old uri), {file_managed}.uri, and the value
 * and summary of text fields stored in their own tables (body,
 * comment_body and any field added through the UI), current and revisions.
 * Text base fields kept in an entity's shared tables (a taxonomy term's
 * description) are left as they are.
 *
 * The job holds uri and url (the new ones), old_uri and old_url.
 *
 * Result: one line of JSON, {"changed": {"<place>": <rows changed>, ...}}.
 */

$job = $aegir_job;
$rules = aegir_rewrite_rules($job['old_uri'], $job['old_url'], $job['uri'], $job['url']);
$needles = aegir_rewrite_needles($job['old_uri'], $job['old_url']);
$changed = array();
$db = \Drupal::database();

/**
 * Rewrites the columns of the rows of a table that hold a needle, each row
 * found by the given key columns.
 */
function aegir_rewrite_table8($db, $table, $columns, $keys, $rules, $needles) {
  if (!$columns || !$db->schema()->tableExists($table)) {
    return 0;
  }
  $query = $db->select($table, 't')->fields('t', array_unique(array_merge($keys, $columns)));
  $or = $query->orConditionGroup();
  foreach ($columns as $column) {
    foreach ($needles as $needle) {
      $or->condition($column, '%' . $db->escapeLike($needle) . '%', 'LIKE');
    }
  }
  $query->condition($or);
  $count = 0;
  foreach ($query->execute()->fetchAll(\PDO::FETCH_ASSOC) as $row) {
    $fields = array();
    foreach ($columns as $column) {
      $new = aegir_rewrite($row[$column], $rules);
      if ($new !== $row[$column]) {
        $fields[$column] = $new;
      }
    }
    if ($fields) {
      $update = $db->update($table)->fields($fields);
      foreach ($keys as $key) {
        $update->condition($key, $row[$key]);
      }
      $update->execute();
      $count++;
    }
  }
  return $count;
}

// Configuration.
$factory = \Drupal::configFactory();
$count = 0;
foreach ($factory->listAll() as $name) {
  $config = $factory->getEditable($name);
  $data = $config->getRawData();
  $before = serialize($data);
  $data = aegir_rewrite_value($data, $rules);
  if ($name === 'system.site' && isset($data['name']) && $data['name'] === $job['old_uri']) {
    $data['name'] = $job['uri'];
  }
  if (serialize($data) !== $before) {
    $config->setData($data)->save(TRUE);
    $count++;
  }
}
$changed['config'] = $count;

$changed['file_managed'] = aegir_rewrite_table8($db, 'file_managed', array('uri'), array('fid'), $rules, $needles);

// Text fields in their own tables.
$field_manager = \Drupal::service('entity_field.manager');
$type_manager = \Drupal::entityTypeManager();
foreach (array('text', 'text_long', 'text_with_summary') as $field_type) {
  foreach ($field_manager->getFieldMapByFieldType($field_type) as $entity_type_id => $fields) {
    $storage = $type_manager->getStorage($entity_type_id);
    if (!$storage instanceof \Drupal\Core\Entity\Sql\SqlEntityStorageInterface) {
      continue;
    }
    $mapping = $storage->getTableMapping();
    $definitions = $field_manager->getFieldStorageDefinitions($entity_type_id);
    foreach (array_keys($fields) as $field_name) {
      if (!isset($definitions[$field_name]) || !$mapping->requiresDedicatedTableStorage($definitions[$field_name])) {
        continue;
      }
      $definition = $definitions[$field_name];
      $columns = array();
      foreach (array('value', 'summary') as $property) {
        if (isset($definition->getColumns()[$property])) {
          $columns[] = $mapping->getFieldColumnName($definition, $property);
        }
      }
      $table = $mapping->getDedicatedDataTableName($definition);
      $changed[$table] = aegir_rewrite_table8($db, $table, $columns, array('entity_id', 'deleted', 'delta', 'langcode'), $rules, $needles);
      if ($type_manager->getDefinition($entity_type_id)->isRevisionable()) {
        $table = $mapping->getDedicatedRevisionTableName($definition);
        $changed[$table] = aegir_rewrite_table8($db, $table, $columns, array('revision_id', 'deleted', 'delta', 'langcode'), $rules, $needles);
      }
    }
  }
}

drupal_flush_all_caches();
echo json_encode(array('changed' => $changed)), "\n";
