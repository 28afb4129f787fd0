package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/sqlstore"
)

func TestOpenMakesAPrivateWALDatabaseAndReopens(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hosting.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := s.d.reader.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := s.d.writer.QueryRowContext(t.Context(), "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys = %d, %v; want 1", fk, err)
	}
	if _, err := s.d.reader.ExecContext(t.Context(), "DELETE FROM clients"); err == nil {
		t.Fatal("a reader connection could write")
	}
	if err := s.CreateClient(t.Context(), &aegir.Client{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Fatalf("%s has mode %o, want 600: it holds password hashes", filepath.Base(name), perm)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(t.Context(), path) // the migrations are applied already
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetClient(t.Context(), "acme"); err != nil {
		t.Fatalf("after reopening: %v", err)
	}
	if _, err := Open(t.Context(), path+"?mode=ro"); aegir.ErrorCode(err) != aegir.EINVALID {
		t.Fatalf("Open of a path with a query = %v, want EINVALID", err)
	}
}

// BenchmarkTenThousandSites measures a filtered page of sites and a claim
// against 10,000 sites and 10,000 finished tasks.
func BenchmarkTenThousandSites(b *testing.B) {
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "hosting.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := b.Context()
	if err := s.CreateServer(ctx, &aegir.ServerRecord{Name: "server_master"}); err != nil {
		b.Fatal(err)
	}
	for i := range 10 {
		p := &aegir.PlatformRecord{Name: fmt.Sprintf("p%d", i), Platform: aegir.Platform{Root: fmt.Sprintf("/srv/p%d", i)}}
		if err := s.CreatePlatform(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	tx, err := s.d.writer.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	now := sqlstore.FormatTime(time.Now())
	for i := range 10000 {
		name := fmt.Sprintf("site%05d.example", i)
		props, _ := aegir.MarshalProps(&aegir.Site{URI: name, Platform: fmt.Sprintf("@p%d", i%10)})
		if _, err := tx.ExecContext(ctx, `INSERT INTO sites (name, props, platform, status, created_at, updated_at) VALUES (?, ?, ?, 'enabled', ?, ?)`,
			name, string(props), fmt.Sprintf("p%d", i%10), now, now); err != nil {
			b.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO aliases (alias, site) VALUES (?, ?)`, name, name); err != nil {
			b.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO tasks (type, object_type, object, platform, status, created_at, finished_at) VALUES ('cron', 'site', ?, ?, 'success', ?, ?)`,
			name, fmt.Sprintf("p%d", i%10), now, now); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	b.Run("ListSites", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			list, total, err := s.ListSites(ctx, aegir.SiteFilter{Platform: "p3", Page: 1 + i%20, PerPage: 50})
			if err != nil || total != 1000 || len(list) != 50 {
				b.Fatal(total, len(list), err)
			}
		}
	})
	b.Run("EnqueueClaimFinish", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			task := &aegir.Task{Type: "cron", ObjectType: aegir.SiteContext, Object: fmt.Sprintf("site%05d.example", i%10000), Platform: fmt.Sprintf("p%d", i%10)}
			if err := s.EnqueueTask(ctx, task); err != nil {
				b.Fatal(err)
			}
			got, err := s.ClaimTask(ctx, "bench")
			if err != nil || got == nil {
				b.Fatal(got, err)
			}
			if err := s.FinishTask(ctx, got.ID, aegir.StatusSuccess, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestGroupedWritesKeepTheirOwnResults runs many writes at once, so that
// they commit in groups: a write that fails after changing rows leaves
// nothing, the others of its group are kept, and each caller gets its own
// error.
func TestGroupedWritesKeepTheirOwnResults(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "hosting.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.d.Write(t.Context(), func(ctx context.Context, tx sqlstore.Querier) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO clients (name, title, email, created_at) VALUES (?, '', '', ?)`,
					fmt.Sprintf("c%03d", i), sqlstore.FormatTime(time.Now())); err != nil {
					return err
				}
				if i%3 == 0 {
					return fmt.Errorf("write %d fails", i)
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		_, gerr := s.GetClient(t.Context(), fmt.Sprintf("c%03d", i))
		if i%3 == 0 {
			if err == nil || err.Error() != fmt.Sprintf("write %d fails", i) {
				t.Errorf("write %d returned %v, want its own error", i, err)
			}
			if aegir.ErrorCode(gerr) != aegir.ENOTFOUND {
				t.Errorf("the failed write %d left its row: %v", i, gerr)
			}
			continue
		}
		if err != nil || gerr != nil {
			t.Errorf("write %d: %v; its row: %v", i, err, gerr)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.CreateClient(ctx, &aegir.Client{Name: "late"}); !errors.Is(err, context.Canceled) {
		t.Errorf("a write whose context ended returned %v, want context.Canceled", err)
	}
}
