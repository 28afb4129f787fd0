package mysql

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/aegir-hosting/aegir"
)

const (
	// connectTimeout bounds dialing the server, so a dead server fails fast.
	connectTimeout = 5 * time.Second
	// pingTimeout bounds the whole first connection, handshake included,
	// so a server that accepts connections but never answers fails too.
	pingTimeout = 10 * time.Second
	// readTimeout is generous: dropping a database of many tables is one
	// statement whose answer can take minutes on a slow disk.
	readTimeout  = 5 * time.Minute
	writeTimeout = 30 * time.Second
	// undoTimeout bounds the cleanup after a failed call, which runs even
	// when the caller's context is cancelled.
	undoTimeout = 30 * time.Second
)

// MariaDB and MySQL error numbers this driver tells apart.
const (
	errDBCreateExists = 1007 // ER_DB_CREATE_EXISTS
	errCannotUser     = 1396 // ER_CANNOT_USER: CREATE USER of an existing account
)

func init() { aegir.RegisterDB(aegir.ServiceMySQL, New) }

// Service administers the databases and users of one MariaDB or MySQL
// server through its administrator account.
type Service struct {
	db    *sql.DB
	host  string
	port  int
	addr  string // host:port, for messages
	admin string // the administrator user, never created or dropped
	log   *aegir.TaskLog
	// master is the administrator account, which mysqldump and the mysql
	// client read from a temporary option file.
	master aegir.MasterDB
	// runner runs mysqldump and the mysql client for Dump and Import.
	runner aegir.Runner
}

// New connects to the server named by server.MasterDB
// (mysql://user:password@host:port) and returns its db service; Dump and
// Import run mysqldump and the mysql client through env.Runner. A server
// that cannot be reached or refuses the administrator is an EINVALID error
// naming its address, returned within a few seconds.
func New(server *aegir.Server, env aegir.Env) (aegir.DBService, error) {
	m, err := aegir.ParseMasterDB(server.MasterDB)
	if err != nil {
		return nil, err
	}
	s, err := newService(m, env.Log)
	if err != nil {
		return nil, err
	}
	s.runner = env.Runner
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	if err := s.ping(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	s.log.Infof("connected to db server %s as %s", s.addr, m.User)
	return s, nil
}

// newService opens the connection pool without connecting.
func newService(m *aegir.MasterDB, log *aegir.TaskLog) (*Service, error) {
	if log == nil {
		log = aegir.NewTaskLog(nil)
	}
	addr := net.JoinHostPort(m.Host, strconv.Itoa(m.Port))
	cfg := mysql.NewConfig()
	cfg.User = m.User
	cfg.Passwd = m.Password
	cfg.Net = "tcp"
	cfg.Addr = addr
	cfg.Timeout = connectTimeout
	cfg.ReadTimeout = readTimeout
	cfg.WriteTimeout = writeTimeout
	// Values (user names, hosts, passwords) are sent as placeholders and
	// escaped by the driver: CREATE USER and GRANT cannot be prepared.
	cfg.InterpolateParams = true
	// Errors are returned to the caller; the driver must not print them.
	cfg.Logger = &mysql.NopLogger{}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, aegir.Errorf(aegir.EINVALID, "db server %s: %v", addr, err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(2)
	db.SetConnMaxIdleTime(time.Minute)
	return &Service{db: db, host: m.Host, port: m.Port, addr: addr, admin: m.User, log: log, master: *m}, nil
}

// ping connects and turns a failure into an error a user can act on.
func (s *Service) ping(ctx context.Context) error {
	err := s.db.PingContext(ctx)
	if err == nil {
		return nil
	}
	// Any answer from the server (bad password, unknown user, host not
	// allowed, too many connections) means it is up but refuses us.
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return aegir.Errorf(aegir.EINVALID, "db server %s refused the administrator %s: %s", s.addr, s.admin, me.Message)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return aegir.Errorf(aegir.EINVALID, "db server %s unreachable: no answer within %s", s.addr, pingTimeout)
	}
	return aegir.Errorf(aegir.EINVALID, "db server %s unreachable: %v", s.addr, err)
}

// Verify checks the server can be administered: it connects, creates a
// test database and a test user, grants the user the database, revokes the
// grant, and drops both. The error names the step that failed.
func (s *Service) Verify(ctx context.Context) error {
	suffix, err := randomHex(4)
	if err != nil {
		return err
	}
	name := "aegir_verify_" + suffix
	password, err := randomHex(16)
	if err != nil {
		return err
	}
	const host = "localhost"
	var dbCreated, userCreated bool
	defer func() {
		// Clean up whatever a failed step left behind.
		if !dbCreated && !userCreated {
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
		defer cancel()
		if userCreated {
			if _, err := s.db.ExecContext(ctx, "DROP USER IF EXISTS ?@?", name, host); err != nil {
				s.log.Warnf("could not drop test user %s@%s on db server %s: %v", name, host, s.addr, err)
			}
		}
		if dbCreated {
			if _, err := s.db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quote(name)); err != nil {
				s.log.Warnf("could not drop test database %s on db server %s: %v", name, s.addr, err)
			}
		}
	}()
	steps := []struct {
		what  string
		query string
		args  []any
		after func()
	}{
		{"create test database " + name, "CREATE DATABASE " + quote(name), nil, func() { dbCreated = true }},
		{"create test user " + name, "CREATE USER ?@? IDENTIFIED BY ?", []any{name, host, password}, func() { userCreated = true }},
		{"grant test database to test user", "GRANT ALL PRIVILEGES ON " + grantTarget(name) + ".* TO ?@?", []any{name, host}, nil},
		{"revoke test database from test user", "REVOKE ALL PRIVILEGES ON " + grantTarget(name) + ".* FROM ?@?", []any{name, host}, nil},
		{"drop test user " + name, "DROP USER ?@?", []any{name, host}, func() { userCreated = false }},
		{"drop test database " + name, "DROP DATABASE " + quote(name), nil, func() { dbCreated = false }},
	}
	if err := s.ping(ctx); err != nil {
		return err
	}
	for _, st := range steps {
		if _, err := s.db.ExecContext(ctx, st.query, st.args...); err != nil {
			return fmt.Errorf("verify db server %s: cannot %s: %w", s.addr, st.what, err)
		}
		if st.after != nil {
			st.after()
		}
	}
	s.log.Successf("db server %s can create and drop databases, users and grants (tried with %s)", s.addr, name)
	return nil
}

// DatabaseExists reports whether a database of that name exists.
func (s *Service) DatabaseExists(ctx context.Context, name string) (bool, error) {
	if err := validateDatabase(name); err != nil {
		return false, err
	}
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up database %s on db server %s: %w", name, s.addr, err)
	}
	return n > 0, nil
}

// DatabaseSize returns the bytes of data and indexes of the database as
// information_schema reports them: exact for MyISAM and Aria, an estimate
// for InnoDB that follows the table statistics the server keeps. A
// database that does not exist is an ENOTFOUND error.
func (s *Service) DatabaseSize(ctx context.Context, name string) (int64, error) {
	if err := validateDatabase(name); err != nil {
		return 0, err
	}
	// Two subqueries in one round trip, each filtered on a constant so the
	// server opens the tables of that one database only (a join would
	// have it read every database's).
	var found, size int64
	err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?),
		(SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?)`,
		name, name).Scan(&found, &size)
	if err != nil {
		return 0, fmt.Errorf("size of database %s on db server %s: %w", name, s.addr, err)
	}
	if found == 0 {
		return 0, s.notFound(name)
	}
	return size, nil
}

// UserExists reports whether a user of that name exists on any host.
func (s *Service) UserExists(ctx context.Context, user string) (bool, error) {
	if err := validateUser(user); err != nil {
		return false, err
	}
	hosts, err := s.userHosts(ctx, user)
	return len(hosts) > 0, err
}

// userHosts lists the hosts the user exists on.
func (s *Service) userHosts(ctx context.Context, user string) ([]string, error) {
	return s.queryStrings(ctx, "look up user "+user, "SELECT Host FROM mysql.user WHERE User = ?", user)
}

// queryStrings runs a query of one text column and returns its values;
// what says what the query does, for its errors.
func (s *Service) queryStrings(ctx context.Context, what, query string, args ...any) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s on db server %s: %w", what, s.addr, err)
	}
	defer rows.Close()
	var values []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("%s on db server %s: %w", what, s.addr, err)
		}
		values = append(values, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s on db server %s: %w", what, s.addr, err)
	}
	return values, nil
}

// CreateDatabase creates the database (utf8mb4), and for each host the
// user identified by password with all privileges on the database. An
// existing database or user is an ECONFLICT error and is left alone; any
// other failure drops what this call created before returning, so a failed
// call leaves nothing behind.
func (s *Service) CreateDatabase(ctx context.Context, name, user, password string, hosts []string) (err error) {
	if err := s.validateOwned(name, user); err != nil {
		return err
	}
	if password == "" {
		return aegir.FieldErrorf("db_passwd", "is required")
	}
	if len(hosts) == 0 {
		return aegir.FieldErrorf("db_host", "at least one host is required")
	}
	var uniq []string
	for _, h := range hosts {
		if err := validateHost(h); err != nil {
			return err
		}
		if !slices.Contains(uniq, h) {
			uniq = append(uniq, h)
		}
	}
	// A user of that name on another host may belong to someone else, and
	// DropDatabase would drop it: refuse it as well.
	if taken, err := s.UserExists(ctx, user); err != nil {
		return err
	} else if taken {
		return aegir.Errorf(aegir.ECONFLICT, "db user %s already exists on db server %s", user, s.addr)
	}

	var dbCreated bool
	var usersCreated []string
	defer func() {
		if err != nil {
			s.undoCreate(ctx, name, user, dbCreated, usersCreated)
		}
	}()
	if _, err := s.db.ExecContext(ctx, "CREATE DATABASE "+quote(name)+" CHARACTER SET utf8mb4"); err != nil {
		if mysqlErrno(err) == errDBCreateExists {
			return aegir.Errorf(aegir.ECONFLICT, "database %s already exists on db server %s", name, s.addr)
		}
		return fmt.Errorf("create database %s on db server %s: %w", name, s.addr, err)
	}
	dbCreated = true
	s.log.Infof("created database %s on db server %s", name, s.addr)
	for _, h := range uniq {
		if _, err := s.db.ExecContext(ctx, "CREATE USER ?@? IDENTIFIED BY ?", user, h, password); err != nil {
			if mysqlErrno(err) == errCannotUser {
				return aegir.Errorf(aegir.ECONFLICT, "db user %s@%s already exists on db server %s", user, h, s.addr)
			}
			return fmt.Errorf("create db user %s@%s on db server %s: %w", user, h, s.addr, err)
		}
		usersCreated = append(usersCreated, h)
		if _, err := s.db.ExecContext(ctx, "GRANT ALL PRIVILEGES ON "+grantTarget(name)+".* TO ?@?", user, h); err != nil {
			return fmt.Errorf("grant database %s to %s@%s on db server %s: %w", name, user, h, s.addr, err)
		}
		s.log.Infof("created db user %s@%s with all privileges on %s", user, h, name)
	}
	return nil
}

// undoCreate drops what a failed CreateDatabase created. It runs even when
// ctx is cancelled; what it cannot drop is logged, since the caller returns
// the error that made the call fail.
func (s *Service) undoCreate(ctx context.Context, name, user string, dbCreated bool, hosts []string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	for _, h := range hosts {
		if _, err := s.db.ExecContext(ctx, "DROP USER IF EXISTS ?@?", user, h); err != nil {
			s.log.Warnf("could not drop db user %s@%s after a failed create, it is left behind: %v", user, h, err)
		} else {
			s.log.Infof("dropped db user %s@%s after a failed create", user, h)
		}
	}
	if dbCreated {
		if _, err := s.db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quote(name)); err != nil {
			s.log.Warnf("could not drop database %s after a failed create, it is left behind: %v", name, err)
		} else {
			s.log.Infof("dropped database %s after a failed create", name)
		}
	}
}

// DropDatabase drops the database if it exists and the user from every
// host it exists on, which removes all its grants. Dropping what does not
// exist is not an error.
func (s *Service) DropDatabase(ctx context.Context, name, user string) error {
	if err := s.validateOwned(name, user); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quote(name)); err != nil {
		return fmt.Errorf("drop database %s on db server %s: %w", name, s.addr, err)
	}
	s.log.Infof("dropped database %s on db server %s", name, s.addr)
	hosts, err := s.userHosts(ctx, user)
	if err != nil {
		return err
	}
	for _, h := range hosts {
		if _, err := s.db.ExecContext(ctx, "DROP USER IF EXISTS ?@?", user, h); err != nil {
			return fmt.Errorf("drop db user %s@%s on db server %s: %w", user, h, s.addr, err)
		}
		s.log.Infof("dropped db user %s@%s", user, h)
	}
	return nil
}

// Address returns the host and port of master_db: on a single machine
// sites reach the server where aegir does.
func (s *Service) Address() (string, int) { return s.host, s.port }

// Close closes the connections to the server.
func (s *Service) Close() error { return s.db.Close() }

// mysqlErrno returns the server's error number, or 0.
func mysqlErrno(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// randomHex returns n random bytes in hex.
func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random name: %w", err)
	}
	return hex.EncodeToString(b), nil
}

var _ aegir.DBService = (*Service)(nil)
