package mediawiki

import (
	"path/filepath"
	"testing"

	"github.com/aegir-hosting/aegir/apptest"
	"github.com/aegir-hosting/aegir/internal/teststack"
)

// TestConformance runs the app conformance suite on a copy of Debian's
// package.
func TestConformance(t *testing.T) {
	requirePHP(t)
	root := filepath.Join(teststack.WebDir(t), "platform")
	if err := teststack.LinkTree(debianRoot, root); err != nil {
		teststack.Missing(t, "no codebase to copy: %v", err)
	}
	apptest.Exercise(t, apptest.Case{App: New(testEnv()), Root: root, Installs: true})
}
