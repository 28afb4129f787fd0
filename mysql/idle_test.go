package mysql

import (
	"context"
	"testing"
	"time"
)

// TestWaitIdleWaitsForAStatementAnotherConnectionRuns: a statement still
// running in a database, or naming it, as a killed client leaves it on
// the server, holds WaitIdle until it ends; another database's does not.
func TestWaitIdleWaitsForAStatementAnotherConnectionRuns(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	ctx := context.Background()
	name, other := createDatabase(t, s), createDatabase(t, s)
	if err := s.WaitIdle(ctx, name); err != nil {
		t.Fatalf("WaitIdle on an idle server: %v", err)
	}
	for what, c := range map[string]struct{ use, stmt string }{
		"in it":     {use: name, stmt: "SELECT SLEEP(1)"},
		"naming it": {stmt: "SELECT SLEEP(1), '" + quote(name) + "'"},
	} {
		conn, err := s.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c.use != "" {
			if _, err := conn.ExecContext(ctx, "USE "+quote(c.use)); err != nil {
				t.Fatal(err)
			}
		}
		done := make(chan struct{})
		go func() {
			conn.ExecContext(ctx, c.stmt)
			conn.Close()
			close(done)
		}()
		time.Sleep(200 * time.Millisecond)
		start := time.Now()
		if err := s.WaitIdle(ctx, other); err != nil || time.Since(start) > 300*time.Millisecond {
			t.Errorf("%s: WaitIdle on another database took %s (%v)", what, time.Since(start), err)
		}
		if err := s.WaitIdle(ctx, name); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < 600*time.Millisecond {
			t.Errorf("%s: WaitIdle returned after %s, while the statement still ran", what, took)
		}
		<-done
	}
}
