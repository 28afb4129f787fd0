// Package mysql is the db service driver for MariaDB and MySQL: it creates
// and drops databases, their users and grants over an administrator
// connection built from a server's master_db, dumps and imports databases
// with mysqldump (or mariadb-dump) and the mysql client run through the
// aegir.Runner, and registers itself as the "mysql" db service type.
//
// It imports the domain package and github.com/go-sql-driver/mysql only; it
// must not import other adapters (provision, local, nginx, ...). Its tests
// run the real commands through the local runner.
package mysql
