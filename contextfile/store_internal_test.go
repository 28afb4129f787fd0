package contextfile

import (
	"context"
	"fmt"
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
