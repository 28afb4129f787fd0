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

func TestPutLeavesAnUnchangedContextFileAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := contextfile.New(aegir.Paths{Home: t.TempDir()})
	platform, _ := aegir.NewContext("platform_a", aegir.PlatformContext)
	platform.Platform.Root = "/var/aegir/platforms/a"
	if err := store.Put(ctx, platform); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(store.Dir, "platform_a.yml")
	first, _ := os.Stat(path)

	// The same content: the very same file stays (a rewrite renames a new one in).
	if err := store.Put(ctx, platform); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.Stat(path); !os.SameFile(first, again) {
		t.Error("an unchanged context was written again")
	}

	// A changed content, or a file that lost its private mode, is rewritten.
	platform.Platform.Root = "/var/aegir/platforms/b"
	if err := store.Put(ctx, platform); err != nil {
		t.Fatal(err)
	}
	if got, _ := store.Get(ctx, "platform_a"); got.Platform.Root != "/var/aegir/platforms/b" {
		t.Fatalf("root after a change = %q", got.Platform.Root)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := store.Put(ctx, platform); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode after Put = %v, want 0600", st.Mode().Perm())
	}
}

func TestGetReadsWhatTheFileHoldsNow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := contextfile.New(aegir.Paths{Home: t.TempDir()})
	site, _ := aegir.NewContext("a.example", aegir.SiteContext)
	site.Site.Aliases = []string{"www.a.example"}
	if err := store.Put(ctx, site); err != nil {
		t.Fatal(err)
	}
	// What Get returns is the caller's own: changing it changes nothing stored.
	got, err := store.Get(ctx, "a.example")
	if err != nil {
		t.Fatal(err)
	}
	got.Site.Aliases[0], got.Site.Profile = "changed", "changed"
	if again, _ := store.Get(ctx, "a.example"); again.Site.Aliases[0] != "www.a.example" || again.Site.Profile != "" {
		t.Fatalf("a change to a context Get returned leaked into the store: %+v", again.Site)
	}
	// Another process rewrites the file: the next Get reads it, and a Put
	// of what was there before writes it back.
	path := filepath.Join(store.Dir, "a.example.yml")
	if err := os.WriteFile(path, []byte("context_type: site\nuri: a.example\naliases: [other.a.example]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := store.Get(ctx, "a.example"); len(got.Site.Aliases) != 1 || got.Site.Aliases[0] != "other.a.example" {
		t.Fatalf("after a rewrite by another process Get = %+v", got.Site)
	}
	if err := store.Put(ctx, site); err != nil {
		t.Fatal(err)
	}
	if got, _ := store.Get(ctx, "a.example"); got.Site.Aliases[0] != "www.a.example" {
		t.Fatalf("Put of the earlier context left %+v", got.Site)
	}
}
