package contextfile

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aegir-hosting/aegir"
)

// TestRememberedContextsAreBounded: however many contexts a store reads,
// it remembers at most maxParsed of them.
func TestRememberedContextsAreBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := New(aegir.Paths{Home: t.TempDir()})
	for i := range 3 * maxParsed {
		c, _ := aegir.NewContext(fmt.Sprintf("s%d.example", i), aegir.SiteContext)
		if err := store.Put(ctx, c); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Get(ctx, c.Name); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(store.parsed); n > maxParsed {
		t.Fatalf("the store remembers %d contexts, more than %d", n, maxParsed)
	}
	if got, err := store.Get(ctx, "s0.example"); err != nil || got.Site.URI != "s0.example" {
		t.Fatalf("a forgotten context reads back as %+v, %v", got, err)
	}
}

// TestListingOneTypeReadsOnlyItsFiles: once listed, the files of other
// types are not read again to list one type (verify lists the platforms
// beside thousands of sites), but a file changed since, even into another
// type, is.
func TestListingOneTypeReadsOnlyItsFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := New(aegir.Paths{Home: t.TempDir()})
	if err := os.MkdirAll(store.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	put := func(name string, typ aegir.ContextType) {
		t.Helper()
		c, _ := aegir.NewContext(name, typ)
		if typ == aegir.PlatformContext {
			c.Platform.Root = "/var/aegir/platforms/" + name
		}
		if err := store.Put(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 * maxParsed {
		put(fmt.Sprintf("s%d.example", i), aegir.SiteContext)
	}
	put("platform_a", aegir.PlatformContext)
	list := func() []string {
		t.Helper()
		got, err := store.List(ctx, aegir.PlatformContext)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range got {
			names = append(names, c.Name)
		}
		return names
	}
	if got := list(); !slices.Equal(got, []string{"platform_a"}) {
		t.Fatalf("platforms %v", got)
	}
	// A site file garbled in place, its size and time kept, is not read
	// again: its type is known (reading it would fail the listing).
	path := filepath.Join(store.Dir, "s1.example.yml")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, bytes.Repeat([]byte{':'}, int(fi.Size())), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	store.mu.Lock()
	store.parsed = nil // nothing remembered: a read would decode
	store.mu.Unlock()
	if got := list(); !slices.Equal(got, []string{"platform_a"}) {
		t.Fatalf("platforms after: %v", got)
	}
	if _, err := store.Get(ctx, "s1.example"); err == nil {
		t.Fatal("the garbled file reads as a context")
	}
	// Another process replaces a site's file with a platform's: listed.
	other := New(aegir.Paths{Home: filepath.Dir(store.Dir)})
	other.Dir = store.Dir
	c, _ := aegir.NewContext("s3.example", aegir.PlatformContext)
	c.Platform.Root = "/var/aegir/platforms/p3"
	if err := other.Delete(ctx, "s3.example"); err != nil {
		t.Fatal(err)
	}
	if err := other.Put(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got := list(); !slices.Equal(got, []string{"platform_a", "s3.example"}) {
		t.Fatalf("platforms after another process's change: %v", got)
	}
}
