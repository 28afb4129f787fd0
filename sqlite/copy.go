package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"

	"github.com/aegir-hosting/aegir"
)

// CopyTo writes a consistent copy of the database at path to dst (which
// must not exist; put it in a private directory: it holds what the
// database does), mode 0600, while others may go on writing to it:
// VACUUM INTO reads one snapshot of the database in a read transaction.
func CopyTo(ctx context.Context, path, dst string) error {
	if _, err := os.Stat(path); err != nil {
		return aegir.Errorf(aegir.ENOTFOUND, "sqlite: no database at %s", path)
	}
	db, err := sql.Open("sqlite", path+"?"+pragmas)
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("sqlite: copy %s: %w", path, err)
	}
	return os.Chmod(dst, 0o600)
}
