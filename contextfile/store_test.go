package contextfile_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
)

func TestStoreRoundTripsContextsPrivately(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := contextfile.New(aegir.Paths{Home: t.TempDir()})

	server, _ := aegir.NewContext("server_master", aegir.ServerContext)
	server.Server.MasterDB = "mysql://root:secret@127.0.0.1:3306"
	server.Server.HTTPTestCmd = []string{"nginx", "-t"}
	site, _ := aegir.NewContext("@example.com", aegir.SiteContext)
	site.Site.Platform = "@platform_a"
	site.Site.Aliases = []string{"www.example.com"}
	for _, c := range []*aegir.Context{server, site} {
		if err := store.Put(ctx, c); err != nil {
			t.Fatal(err)
		}
	}

	got, err := store.Get(ctx, "@server_master")
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != aegir.ServerContext || got.Server.MasterDB != server.Server.MasterDB || len(got.Server.HTTPTestCmd) != 2 {
		t.Fatalf("got %+v", got.Server)
	}
	st, err := os.Stat(filepath.Join(store.Dir, "server_master.yml"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("server file mode %v (%v), want 0600: it holds db credentials", st.Mode(), err)
	}

	sites, err := store.List(ctx, aegir.SiteContext)
	if err != nil || len(sites) != 1 || sites[0].Site.Aliases[0] != "www.example.com" {
		t.Fatalf("List(site) = %v, %v", sites, err)
	}
	all, _ := store.List(ctx, "")
	if len(all) != 2 {
		t.Fatalf("List() = %d contexts, want 2", len(all))
	}

	if err := store.Delete(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Get(ctx, "example.com"); aegir.ErrorCode(err) != aegir.ENOTFOUND {
		t.Fatalf("Get after Delete = %v, want ENOTFOUND", err)
	}
	if err := store.Delete(ctx, "example.com"); aegir.ErrorCode(err) != aegir.ENOTFOUND {
		t.Fatalf("second Delete = %v, want ENOTFOUND", err)
	}
	if _, err := store.Get(ctx, "../etc/passwd"); aegir.ErrorCode(err) != aegir.EINVALID {
		t.Fatalf("Get with a path = %v, want EINVALID", err)
	}
}

func TestStoreRejectsACorruptFile(t *testing.T) {
	t.Parallel()
	store := contextfile.New(aegir.Paths{Home: t.TempDir()})
	os.MkdirAll(store.Dir, 0o700)
	os.WriteFile(filepath.Join(store.Dir, "bad.yml"), []byte("context_type: planet\n"), 0o600)
	if _, err := store.Get(context.Background(), "bad"); aegir.ErrorCode(err) != aegir.EINVALID {
		t.Fatalf("Get(bad) = %v, want EINVALID", err)
	}
}
