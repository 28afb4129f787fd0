package mysql

import (
	"context"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
)

// TestLastChangeFollowsWritesAndNeverComesEarly: the last change of a
// database is no earlier than the creation of its tables, moves on with a
// write to one of them, stays put while nothing is written, and a database
// that does not exist is ENOTFOUND.
func TestLastChangeFollowsWritesAndNeverComesEarly(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	ctx := context.Background()
	name := createDatabase(t, s)
	before := time.Now().Truncate(time.Second)
	plainTables(t, s, name)
	created, err := s.LastChange(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if created.Before(before) {
		t.Fatalf("last change %s is before the tables were made (%s)", created, before)
	}
	time.Sleep(1100 * time.Millisecond)
	if again, err := s.LastChange(ctx, name); err != nil || !again.Equal(created) {
		t.Fatalf("with no write the last change moved from %s to %s (%v)", created, again, err)
	}
	written := time.Now().Truncate(time.Second)
	if _, err := s.db.Exec("UPDATE " + quote(name) + ".options SET v = 'changed'"); err != nil {
		t.Fatal(err)
	}
	after, err := s.LastChange(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if !after.After(written) {
		t.Fatalf("after a write at %s the last change is %s", written, after)
	}
	if _, err := s.LastChange(ctx, uniqueName(t)); aegir.ErrorCode(err) != aegir.ENOTFOUND {
		t.Fatalf("a missing database: %v, want ENOTFOUND", err)
	}
}
