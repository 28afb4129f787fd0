package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
)

var _ aegir.IdleWaiter = (*Service)(nil)

// idleTimeout bounds WaitIdle; idlePoll is how often it looks.
const (
	idleTimeout = time.Minute
	idlePoll    = 20 * time.Millisecond
)

// WaitIdle polls the server's process list until no other connection runs
// a statement whose current database is one of names, or whose text names
// one quoted, as aegir's statements name them (RENAME TABLE, DROP
// DATABASE). See aegir.IdleWaiter.
func (s *Service) WaitIdle(ctx context.Context, names ...string) error {
	var conds []string
	var args []any
	for _, n := range names {
		if n == "" {
			continue
		}
		if err := validateDatabase(n); err != nil {
			return err
		}
		conds = append(conds, "DB = ?", "INFO LIKE ?")
		args = append(args, n, "%"+likeEscaper.Replace(quote(n))+"%")
	}
	if len(conds) == 0 {
		return nil
	}
	query := "SELECT ID, COALESCE(LEFT(INFO, 200), '') FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() " +
		"AND COMMAND NOT IN ('Sleep', 'Daemon') AND (" + strings.Join(conds, " OR ") + ") LIMIT 1"
	ctx, cancel := context.WithTimeout(ctx, idleTimeout)
	defer cancel()
	var id int64
	var info string
	for {
		err := s.db.QueryRowContext(ctx, query, args...).Scan(&id, &info)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case ctx.Err() != nil:
			return aegir.Errorf(aegir.ECONFLICT, "db server %s still runs %q (connection %d) on %s", s.addr, info, id, strings.Join(names, ", "))
		case err != nil:
			return fmt.Errorf("look at what db server %s runs: %w", s.addr, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(idlePoll):
		}
	}
}

// likeEscaper escapes what LIKE takes for wildcards.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
