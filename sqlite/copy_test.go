package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aegir-hosting/aegir"
)

// TestCopyToIsAPrivateWorkingCopy: the copy opens as a store with what
// the original held, and is 0600.
func TestCopyToIsAPrivateWorkingCopy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "hosting.db")
	s, err := Open(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateClient(ctx, &aegir.Client{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "copy.db")
	if err := CopyTo(ctx, src, dst); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dst); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("copy: %v %v", st.Mode(), err)
	}
	c, err := Open(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := c.GetClient(ctx, "acme"); err != nil || got.Name != "acme" {
		t.Fatalf("the copy's client: %+v %v", got, err)
	}
	if err := CopyTo(ctx, filepath.Join(dir, "none.db"), filepath.Join(dir, "x.db")); aegir.ErrorCode(err) != aegir.ENOTFOUND {
		t.Fatalf("copy of no database: %v", err)
	}
}
