package contextfile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
)

func TestProjectsPutGetListKeepTheSecretPrivate(t *testing.T) {
	t.Parallel()
	paths := aegir.Paths{Home: t.TempDir()}
	s := contextfile.NewProjects(paths)
	if _, err := s.Get("shop"); aegir.ErrorCode(err) != aegir.ENOTFOUND {
		t.Fatalf("a missing project: %v", err)
	}
	p := &aegir.Project{Name: "shop", GitURL: "file:///srv/git/shop.git", BaseDomain: "shop.example.com"}
	if err := aegir.CreateProject(s, p); err != nil {
		t.Fatal(err)
	}
	if err := aegir.CreateProject(s, &aegir.Project{Name: "shop", GitURL: p.GitURL, BaseDomain: "x.example.com"}); aegir.ErrorCode(err) != aegir.ECONFLICT {
		t.Errorf("a second project shop: %v", err)
	}
	got, err := s.Get("shop")
	if err != nil || got.WebhookSecret != p.WebhookSecret || len(got.WebhookSecret) != 48 {
		t.Fatalf("read back %+v, %v", got, err)
	}
	st, err := os.Stat(filepath.Join(paths.Projects(), "shop.yml"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the project file: %v %v", st.Mode(), err)
	}
	if names, err := s.List(); err != nil || len(names) != 1 || names[0] != "shop" {
		t.Errorf("list: %v %v", names, err)
	}
	if _, err := s.Get("../etc"); aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("a path as a project name: %v", err)
	}
	p.WebhookSecret = ""
	if err := s.Put(p); aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("a project without a secret written: %v", err)
	}
}
