// Package mysql is the db service driver for MariaDB and MySQL: it creates
// and drops databases, their users and grants over an administrator
// connection built from a server's master_db, and registers itself as the
// "mysql" db service type.
//
// It imports the domain package and github.com/go-sql-driver/mysql only; it
// must not import other adapters (provision, local, nginx, ...).
package mysql
