package schedule

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/go-sql-driver/mysql"
)

// MySQLSizer is the DBSizer of MariaDB and MySQL servers: it sums the data
// and index lengths information_schema reports, connecting as the
// server's administrator (its master_db). It keeps one small pool per
// server until Close.
type MySQLSizer struct {
	mu    sync.Mutex
	pools map[string]*sql.DB
}

// DatabaseSize returns the bytes of data and indexes of database name.
func (m *MySQLSizer) DatabaseSize(ctx context.Context, server *aegir.Server, name string) (int64, error) {
	if server.DBServiceType != aegir.ServiceMySQL {
		return 0, aegir.Errorf(aegir.EINVALID, "db_service_type %q is not mysql", server.DBServiceType)
	}
	db, err := m.pool(server.MasterDB)
	if err != nil {
		return 0, err
	}
	var size int64
	err = db.QueryRowContext(ctx, `SELECT COALESCE(SUM(data_length + index_length), 0)
		FROM information_schema.tables WHERE table_schema = ?`, name).Scan(&size)
	if err != nil {
		return 0, aegir.Errorf(aegir.EINTERNAL, "size of database %s: %v", name, err)
	}
	return size, nil
}

func (m *MySQLSizer) pool(masterDB string) (*sql.DB, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if db, ok := m.pools[masterDB]; ok {
		return db, nil
	}
	md, err := aegir.ParseMasterDB(masterDB)
	if err != nil {
		return nil, err
	}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd = md.User, md.Password
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(md.Host, strconv.Itoa(md.Port))
	cfg.Timeout, cfg.ReadTimeout = 5*time.Second, 30*time.Second
	cfg.Logger = &mysql.NopLogger{}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, aegir.Errorf(aegir.EINVALID, "db server %s: %v", md, err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(2)
	db.SetConnMaxIdleTime(time.Minute)
	if m.pools == nil {
		m.pools = map[string]*sql.DB{}
	}
	m.pools[masterDB] = db
	return db, nil
}

// Close closes the connections to every server.
func (m *MySQLSizer) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for k, db := range m.pools {
		errs = append(errs, db.Close())
		delete(m.pools, k)
	}
	return errors.Join(errs...)
}

var _ DBSizer = (*MySQLSizer)(nil)
