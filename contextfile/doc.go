// Package contextfile keeps named contexts as YAML files under
// $AEGIR_HOME/contexts, one file per context, written atomically and
// readable only by the aegir user (server contexts hold db credentials).
//
// It implements aegir.ContextStore and imports no other adapter.
package contextfile
