package mysql

import (
	"context"
	"fmt"
	"time"

	"github.com/aegir-hosting/aegir"
)

var _ aegir.ChangeTimer = (*Service)(nil)

// LastChange reads the creation and update times of the database's tables
// from information_schema, as Unix times so that the session's time zone
// does not matter. InnoDB keeps UPDATE_TIME in memory only: a table with
// none was not written since the server started, which is then its bound.
// A view or a table with no creation time counts as changed now. See
// aegir.ChangeTimer.
func (s *Service) LastChange(ctx context.Context, name string) (time.Time, error) {
	if err := validateDatabase(name); err != nil {
		return time.Time{}, err
	}
	var found, last int64
	err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?),
		(SELECT CAST(COALESCE(MAX(GREATEST(
			COALESCE(UNIX_TIMESTAMP(CREATE_TIME), UNIX_TIMESTAMP()),
			COALESCE(UNIX_TIMESTAMP(UPDATE_TIME), UNIX_TIMESTAMP() - (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME')))), 0) AS SIGNED)
			FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?)`,
		name, name).Scan(&found, &last)
	if err != nil {
		return time.Time{}, fmt.Errorf("last change of database %s on db server %s: %w", name, s.addr, err)
	}
	if found == 0 {
		return time.Time{}, s.notFound(name)
	}
	// To the second: the change may have come at any moment of it.
	return time.Unix(last+1, 0), nil
}
