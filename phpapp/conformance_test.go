package phpapp_test

import (
	"path/filepath"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/apptest"
	"github.com/aegir-hosting/aegir/internal/teststack"
	"github.com/aegir-hosting/aegir/local"
	"github.com/aegir-hosting/aegir/phpapp"
)

// TestConformance runs the app conformance suite on a plain PHP codebase.
func TestConformance(t *testing.T) {
	root := filepath.Join(teststack.WebDir(t), "platform")
	teststack.WriteFiles(t, root, map[string]string{"index.php": "<?php echo 'hello';\n", "VERSION": "1.2.3\n"})
	app := phpapp.New(aegir.Env{Runner: &local.Runner{}, Log: aegir.NewTaskLog(nil)})
	apptest.Exercise(t, apptest.Case{App: app, Root: root})
}
