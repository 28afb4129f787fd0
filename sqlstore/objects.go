package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
)

// nameTaken reports what else holds a context name: "server", "platform",
// "site" (not deleted), or "" when the name is free. Servers, platforms
// and sites share one namespace: each becomes $AEGIR_HOME/contexts/<name>.yml.
func nameTaken(ctx context.Context, tx conn, name string) (string, error) {
	var kind string
	err := tx.row(ctx, `
		SELECT 'server' FROM servers WHERE name = $1
		UNION ALL SELECT 'platform' FROM platforms WHERE name = $1
		UNION ALL SELECT 'site' FROM sites WHERE name = $1 AND status <> 'deleted'
		LIMIT 1`, name).Scan(&kind)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return kind, err
}

// checkNameFree returns an ECONFLICT when another context holds name.
func checkNameFree(ctx context.Context, tx conn, name string) error {
	if kind, err := nameTaken(ctx, tx, name); err != nil {
		return err
	} else if kind != "" {
		return nameConflict(kind, name)
	}
	return nil
}

func nameConflict(kind, name string) error {
	return aegir.Errorf(aegir.ECONFLICT, "a %s named @%s already exists", kind, name)
}

// checkRef returns an EINVALID error naming field unless the row exists.
func checkRef(ctx context.Context, tx conn, field, table, name string) error {
	if name == "" {
		return nil
	}
	ok, err := exists(ctx, tx, "SELECT 1 FROM "+table+" WHERE name = $1", name)
	if err != nil {
		return err
	}
	if !ok {
		if table == "clients" {
			return aegir.FieldErrorf(field, "client %q does not exist", name)
		}
		return aegir.FieldErrorf(field, "%s @%s does not exist", strings.TrimSuffix(table, "s"), name)
	}
	return nil
}

// setClients replaces the clients of owner (a platform or a user) in
// table, after checking that each exists.
func setClients(ctx context.Context, tx conn, table, key string, owner any, clients []string) error {
	if _, err := tx.exec(ctx, "DELETE FROM "+table+" WHERE "+key+" = $1", owner); err != nil {
		return err
	}
	for _, c := range clients {
		if err := checkRef(ctx, tx, "clients", "clients", c); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "INSERT INTO "+table+" ("+key+", client) VALUES ($1, $2)", owner, c); err != nil {
			return err
		}
	}
	return nil
}

// deleteUnused removes the row of table named name, or returns notFound.
// used counts what still uses the row (two counts, name is $1); when one
// is not zero, inUse makes the ECONFLICT. The records of the deleted sites
// whose column is name go first.
func (s *Store) deleteUnused(ctx context.Context, table, name string, notFound error, used string, inUse func(n1, n2 int) error, column string) error {
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		// The row's lock keeps a concurrent change from using it meanwhile.
		if ok, err := exists(ctx, tx, "SELECT 1 FROM "+table+" WHERE name = $1"+s.d.ForUpdate(""), name); err != nil {
			return err
		} else if !ok {
			return notFound
		}
		var n1, n2 int
		if err := tx.row(ctx, used, name).Scan(&n1, &n2); err != nil {
			return err
		}
		if n1+n2 > 0 {
			return inUse(n1, n2)
		}
		if err := dropDeletedSites(ctx, tx, column, name); err != nil {
			return err
		}
		_, err := tx.exec(ctx, "DELETE FROM "+table+" WHERE name = $1", name)
		return err
	})
}

// dropDeletedSites removes the records of the deleted sites whose column
// (name, platform, db_server or client: never user input) is value, and
// first binds their backups and tasks to a name no site can take
// (<name>~deleted-<nanoseconds>): they stay for administrators, and a new
// site of that name, perhaps another client's, does not inherit its
// predecessor's backups (database and files) and task logs (login links).
func dropDeletedSites(ctx context.Context, tx conn, column string, value any) error {
	deleted := `SELECT name FROM sites WHERE status = 'deleted' AND ` + column + ` = $2`
	suffix := aegir.RetiredSuffix(time.Now())
	if _, err := tx.exec(ctx, `UPDATE backups SET site = site || $1 WHERE site IN (`+deleted+`)`, suffix, value); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `UPDATE tasks SET object = object || $1 WHERE object_type = 'site' AND object IN (`+deleted+`)`, suffix, value); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `DELETE FROM sites WHERE status = 'deleted' AND `+column+` = $1`, value)
	return err
}

// --- servers ---

const serverCols = "name, props, status, created_at, updated_at"

func scanServer(row scanner) (*aegir.ServerRecord, error) {
	var r aegir.ServerRecord
	var props []byte
	if err := row.Scan(&r.Name, &props, &r.Status, timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt}); err != nil {
		return nil, err
	}
	return &r, aegir.UnmarshalProps(props, &r.Server)
}

// CreateServer adds a server.
func (s *Store) CreateServer(ctx context.Context, r *aegir.ServerRecord) error {
	if err := r.Validate(); err != nil {
		return err
	}
	props, err := aegir.MarshalProps(&r.Server)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		if err := checkNameFree(ctx, tx, r.Name); err != nil {
			return err
		}
		return tx.row(ctx, `INSERT INTO servers (name, props, status, created_at, updated_at) VALUES ($1, $2, $3, $now, $now)
			RETURNING created_at, updated_at`, r.Name, string(props), r.Status).Scan(timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt})
	})
}

// GetServer returns a server.
func (s *Store) GetServer(ctx context.Context, name string) (*aegir.ServerRecord, error) {
	return get(ctx, s.reader(), scanServer, "SELECT "+serverCols+" FROM servers WHERE name = $1", name, "server @%s does not exist")
}

// UpdateServer replaces a server's record.
func (s *Store) UpdateServer(ctx context.Context, r *aegir.ServerRecord) error {
	if err := r.Validate(); err != nil {
		return err
	}
	props, err := aegir.MarshalProps(&r.Server)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		err := tx.row(ctx, `UPDATE servers SET props = $1, status = $2, updated_at = $now WHERE name = $3 RETURNING created_at, updated_at`,
			string(props), r.Status, r.Name).Scan(timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt})
		if errors.Is(err, sql.ErrNoRows) {
			return aegir.Errorf(aegir.ENOTFOUND, "server @%s does not exist", r.Name)
		}
		return err
	})
}

// DeleteServer removes a server that nothing uses.
func (s *Store) DeleteServer(ctx context.Context, name string) error {
	return s.deleteUnused(ctx, "servers", name, aegir.Errorf(aegir.ENOTFOUND, "server @%s does not exist", name),
		`SELECT (SELECT count(*) FROM platforms WHERE web_server = $1),
			(SELECT count(*) FROM sites WHERE db_server = $1 AND status <> 'deleted')`,
		func(platforms, sites int) error {
			return aegir.Errorf(aegir.ECONFLICT, "server @%s is used by %d platforms and %d sites", name, platforms, sites)
		}, "db_server")
}

// ListServers returns one page of servers by name.
func (s *Store) ListServers(ctx context.Context, f aegir.ListFilter) ([]*aegir.ServerRecord, int, error) {
	return listPage(ctx, s, "servers", s.nameFilter(f.Query), serverCols, "name", f.Page, f.PerPage, scanServer)
}

// --- platforms ---

const platformCols = `name, props, app, version, locked, status, created_at, updated_at,
	(SELECT string_agg(client, ',' ORDER BY client) FROM platform_clients pc WHERE pc.platform = platforms.name)`

func scanPlatform(row scanner) (*aegir.PlatformRecord, error) {
	var r aegir.PlatformRecord
	var props []byte
	if err := row.Scan(&r.Name, &props, &r.App, &r.Version, &r.Locked, &r.Status,
		timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt}, clientsCol{&r.Clients}); err != nil {
		return nil, err
	}
	r.Clients = normalClients(r.Clients)
	return &r, aegir.UnmarshalProps(props, &r.Platform)
}

// CreatePlatform adds a platform.
func (s *Store) CreatePlatform(ctx context.Context, r *aegir.PlatformRecord) error {
	if err := r.Validate(); err != nil {
		return err
	}
	props, err := aegir.MarshalProps(&r.Platform)
	if err != nil {
		return err
	}
	clients := normalClients(r.Clients)
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		if err := checkNameFree(ctx, tx, r.Name); err != nil {
			return err
		}
		webServer := aegir.ContextName(r.Platform.WebServer)
		if err := checkRef(ctx, tx, "web_server", "servers", webServer); err != nil {
			return err
		}
		if err := tx.row(ctx, `INSERT INTO platforms (name, props, web_server, app, version, locked, status, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $now, $now) RETURNING created_at, updated_at`,
			r.Name, string(props), nullString(webServer), r.App, r.Version, r.Locked, r.Status).Scan(timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt}); err != nil {
			return err
		}
		if err := setClients(ctx, tx, "platform_clients", "platform", r.Name, clients); err != nil {
			return err
		}
		r.Clients = clients
		return nil
	})
}

// GetPlatform returns a platform.
func (s *Store) GetPlatform(ctx context.Context, name string) (*aegir.PlatformRecord, error) {
	return get(ctx, s.reader(), scanPlatform, "SELECT "+platformCols+" FROM platforms WHERE name = $1", name, "platform @%s does not exist")
}

// UpdatePlatform replaces a platform's record.
func (s *Store) UpdatePlatform(ctx context.Context, r *aegir.PlatformRecord) error {
	if err := r.Validate(); err != nil {
		return err
	}
	props, err := aegir.MarshalProps(&r.Platform)
	if err != nil {
		return err
	}
	clients := normalClients(r.Clients)
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		webServer := aegir.ContextName(r.Platform.WebServer)
		if err := checkRef(ctx, tx, "web_server", "servers", webServer); err != nil {
			return err
		}
		err := tx.row(ctx, `UPDATE platforms SET props = $1, web_server = $2, app = $3, version = $4, locked = $5, status = $6, updated_at = $now
			WHERE name = $7 RETURNING created_at, updated_at`,
			string(props), nullString(webServer), r.App, r.Version, r.Locked, r.Status, r.Name).Scan(timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt})
		if errors.Is(err, sql.ErrNoRows) {
			return aegir.Errorf(aegir.ENOTFOUND, "platform @%s does not exist", r.Name)
		} else if err != nil {
			return err
		}
		if err := setClients(ctx, tx, "platform_clients", "platform", r.Name, clients); err != nil {
			return err
		}
		r.Clients = clients
		return nil
	})
}

// DeletePlatform removes a platform without sites.
func (s *Store) DeletePlatform(ctx context.Context, name string) error {
	return s.deleteUnused(ctx, "platforms", name, aegir.Errorf(aegir.ENOTFOUND, "platform @%s does not exist", name),
		`SELECT count(*), 0 FROM sites WHERE platform = $1 AND status <> 'deleted'`,
		func(sites, _ int) error {
			return aegir.Errorf(aegir.ECONFLICT, "platform @%s still has %d sites", name, sites)
		}, "platform")
}

// Conditions that keep what a scope allows; %s is "the column is one of
// the scope's clients" (none for a limited scope without clients, which
// keeps nothing). Sites and clients are in scope when their own column is.
const (
	platformScope = `(NOT EXISTS (SELECT 1 FROM platform_clients pc WHERE pc.platform = platforms.name)
		OR EXISTS (SELECT 1 FROM platform_clients pc WHERE pc.platform = platforms.name AND %s))`
	userScope = "id IN (SELECT user_id FROM user_clients WHERE %s)"
	taskScope = "object_type = 'site' AND object IN (SELECT name FROM sites WHERE %s)"
)

// ListPlatforms returns one page of platforms by name.
func (s *Store) ListPlatforms(ctx context.Context, f aegir.ListFilter) ([]*aegir.PlatformRecord, int, error) {
	c := s.nameFilter(f.Query).scope(platformScope, "pc.client", f.Scope)
	return listPage(ctx, s, "platforms", c, platformCols, "name", f.Page, f.PerPage, scanPlatform)
}

// --- sites ---

const siteCols = "name, props, client, status, last_cron, last_backup, disk_files, disk_db, created_at, updated_at, " +
	"health, health_code, health_ms, health_reason, health_checked_at"

func scanSite(row scanner) (*aegir.SiteRecord, error) {
	var r aegir.SiteRecord
	var props []byte
	var client sql.NullString
	if err := row.Scan(&r.Name, &props, &client, &r.Status, nullTimeCol{&r.LastCron}, nullTimeCol{&r.LastBackup},
		&r.DiskFiles, &r.DiskDB, timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt},
		&r.Health.State, &r.Health.Code, &r.Health.Millis, &r.Health.Reason, nullTimeCol{&r.Health.CheckedAt}); err != nil {
		return nil, err
	}
	r.Client = client.String
	return &r, aegir.UnmarshalProps(props, &r.Site)
}

// siteNames lists the names a site holds: none when deleted, else its uri
// and aliases.
func siteNames(r *aegir.SiteRecord) []string {
	if r.Status == aegir.SiteDeleted {
		return nil
	}
	return append([]string{r.Name}, r.Site.Aliases...)
}

// claimNames gives the site its names, after checking that no other site
// holds one of them. Two processes racing for a name meet at the primary
// key of aliases.
func (s *Store) claimNames(ctx context.Context, tx conn, r *aegir.SiteRecord) error {
	names := siteNames(r)
	if len(names) > 0 {
		cond, args := s.d.AnyOf("alias", 2, names)
		held, err := collect(ctx, tx, func(rows scanner) ([2]string, error) {
			var h [2]string
			return h, rows.Scan(&h[0], &h[1])
		}, `SELECT alias, site FROM aliases WHERE site <> $1 AND `+cond, append([]any{r.Name}, args...)...)
		if err != nil {
			return err
		}
		// The first name in the site's order is the one the error names.
		for _, n := range names {
			for _, h := range held {
				if h[0] == n {
					return nameInUse(r.Name, n, h[1])
				}
			}
		}
	}
	if _, err := tx.exec(ctx, `DELETE FROM aliases WHERE site = $1`, r.Name); err != nil {
		return err
	}
	rows := make([][]any, len(names))
	for i, n := range names {
		rows[i] = []any{n, r.Name}
	}
	return s.insertRows(ctx, tx, "aliases", []string{"alias", "site"}, rows)
}

func nameInUse(site, name, owner string) error {
	// The message does not name the other site: it may be another
	// client's (the owner stays in the error's cause, for logs and admins).
	field := "aliases"
	if name == site {
		field = "uri"
	}
	return &aegir.Error{Code: aegir.ECONFLICT, Field: field, Message: "\"" + name + "\" is already used by another site",
		Cause: fmt.Errorf("%q is a name of site @%s", name, owner)}
}

func checkSiteRefs(ctx context.Context, tx conn, r *aegir.SiteRecord) error {
	if err := checkRef(ctx, tx, "platform", "platforms", aegir.ContextName(r.Site.Platform)); err != nil {
		return err
	}
	if err := checkRef(ctx, tx, "db_server", "servers", aegir.ContextName(r.Site.DBServer)); err != nil {
		return err
	}
	return checkRef(ctx, tx, "client", "clients", r.Client)
}

// normalSiteTimes makes the record's times what the store keeps: UTC, to
// the microsecond.
func normalSiteTimes(r *aegir.SiteRecord) {
	for _, t := range []**time.Time{&r.LastCron, &r.LastBackup} {
		if *t != nil {
			u := normalTime(**t)
			*t = &u
		}
	}
}

// siteArgs are $1 to $10 of the site statements.
func siteArgs(r *aegir.SiteRecord, props []byte) []any {
	return []any{string(props), aegir.ContextName(r.Site.Platform), nullString(aegir.ContextName(r.Site.DBServer)),
		nullString(r.Client), r.Status, timeArg(r.LastCron), timeArg(r.LastBackup), r.DiskFiles, r.DiskDB, r.Name}
}

// CreateSite adds a site, replacing the record of a deleted site of the
// same name.
func (s *Store) CreateSite(ctx context.Context, r *aegir.SiteRecord) error {
	if err := r.Validate(); err != nil {
		return err
	}
	normalSiteTimes(r)
	props, err := aegir.MarshalProps(&r.Site)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		if err := checkNameFree(ctx, tx, r.Name); err != nil {
			return err
		}
		if err := checkSiteRefs(ctx, tx, r); err != nil {
			return err
		}
		// A deleted site's record is a tombstone the new site replaces.
		if err := dropDeletedSites(ctx, tx, "name", r.Name); err != nil {
			return err
		}
		if err := tx.row(ctx, `INSERT INTO sites (props, platform, db_server, client, status, last_cron, last_backup, disk_files, disk_db, name, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $now, $now) RETURNING created_at, updated_at`,
			siteArgs(r, props)...).Scan(timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt}); err != nil {
			return err
		}
		return s.claimNames(ctx, tx, r)
	})
}

// GetSite returns a site.
func (s *Store) GetSite(ctx context.Context, name string) (*aegir.SiteRecord, error) {
	return get(ctx, s.reader(), scanSite, "SELECT "+siteCols+" FROM sites WHERE name = $1", name, "site @%s does not exist")
}

// UpdateSite replaces a site's record and its names.
func (s *Store) UpdateSite(ctx context.Context, r *aegir.SiteRecord) error {
	if err := r.Validate(); err != nil {
		return err
	}
	normalSiteTimes(r)
	props, err := aegir.MarshalProps(&r.Site)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		if ok, err := exists(ctx, tx, `SELECT 1 FROM sites WHERE name = $1`+s.d.ForUpdate(""), r.Name); err != nil {
			return err
		} else if !ok {
			return aegir.Errorf(aegir.ENOTFOUND, "site @%s does not exist", r.Name)
		}
		if r.Status != aegir.SiteDeleted {
			if kind, err := nameTaken(ctx, tx, r.Name); err != nil {
				return err
			} else if kind != "" && kind != "site" {
				return nameConflict(kind, r.Name)
			}
		}
		if err := checkSiteRefs(ctx, tx, r); err != nil {
			return err
		}
		if err := tx.row(ctx, `UPDATE sites SET props = $1, platform = $2, db_server = $3, client = $4, status = $5,
			last_cron = $6, last_backup = $7, disk_files = $8, disk_db = $9, updated_at = $now WHERE name = $10
			RETURNING created_at, updated_at`, siteArgs(r, props)...).Scan(timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt}); err != nil {
			return err
		}
		return s.claimNames(ctx, tx, r)
	})
}

// DeleteSite removes a site's record, names and packages.
func (s *Store) DeleteSite(ctx context.Context, name string) error {
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		return execOne(ctx, tx, `DELETE FROM sites WHERE name = $1`, name, "site @%s does not exist")
	})
}

// ListSites returns one page of sites by name.
func (s *Store) ListSites(ctx context.Context, f aegir.SiteFilter) ([]*aegir.SiteRecord, int, error) {
	c := s.nameFilter(f.Query).equal("platform", aegir.ContextName(f.Platform)).equal("client", f.Client).equal("status", f.Status).equal("health", f.Health)
	if f.Live {
		c.add("status <> ?", aegir.SiteDeleted)
	}
	c.scope("%s", "client", f.Scope)
	return listPage(ctx, s, "sites", c, siteCols, "name", f.Page, f.PerPage, scanSite)
}

// --- packages ---

// setPackages replaces the packages of the owner name (a platform or a
// site: key) in table.
func (s *Store) setPackages(ctx context.Context, table, key, name string, pkgs []aegir.Package) error {
	for _, p := range pkgs {
		if p.Name == "" || p.Type == "" {
			return aegir.FieldErrorf("packages", "every package needs a name and a type")
		}
	}
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		// Locking the owner's row orders two concurrent replacements.
		if ok, err := exists(ctx, tx, "SELECT 1 FROM "+key+"s WHERE name = $1"+s.d.ForUpdate(""), name); err != nil {
			return err
		} else if !ok {
			return aegir.Errorf(aegir.ENOTFOUND, "%s @%s does not exist", key, name)
		}
		if _, err := tx.exec(ctx, "DELETE FROM "+table+" WHERE "+key+" = $1", name); err != nil {
			return err
		}
		rows := make([][]any, len(pkgs))
		for i, p := range pkgs {
			rows[i] = []any{name, i, p.Name, p.Type, p.Version, p.Schema, p.Path}
		}
		return s.insertRows(ctx, tx, table, []string{key, "position", "name", "type", "version", "schema_version", "path"}, rows)
	})
}

func (s *Store) packages(ctx context.Context, table, key, name string) ([]aegir.Package, error) {
	var pkgs []aegir.Package
	err := s.read(ctx, func(tx conn) error {
		if ok, err := exists(ctx, tx, "SELECT 1 FROM "+key+"s WHERE name = $1", name); err != nil {
			return err
		} else if !ok {
			return aegir.Errorf(aegir.ENOTFOUND, "%s @%s does not exist", key, name)
		}
		var err error
		pkgs, err = collect(ctx, tx, func(rows scanner) (aegir.Package, error) {
			var p aegir.Package
			return p, rows.Scan(&p.Name, &p.Type, &p.Version, &p.Schema, &p.Path)
		}, "SELECT name, type, version, schema_version, path FROM "+table+" WHERE "+key+" = $1 ORDER BY position", name)
		return err
	})
	return pkgs, err
}

// SetPlatformPackages replaces the platform's packages.
func (s *Store) SetPlatformPackages(ctx context.Context, platform string, pkgs []aegir.Package) error {
	return s.setPackages(ctx, "platform_packages", "platform", platform, pkgs)
}

// PlatformPackages returns the platform's packages.
func (s *Store) PlatformPackages(ctx context.Context, platform string) ([]aegir.Package, error) {
	return s.packages(ctx, "platform_packages", "platform", platform)
}

// SetSitePackages replaces the site's packages.
func (s *Store) SetSitePackages(ctx context.Context, site string, pkgs []aegir.Package) error {
	return s.setPackages(ctx, "site_packages", "site", site, pkgs)
}

// SitePackages returns the site's packages.
func (s *Store) SitePackages(ctx context.Context, site string) ([]aegir.Package, error) {
	return s.packages(ctx, "site_packages", "site", site)
}

// --- clients ---

const clientCols = "name, title, email, quota_sites, quota_disk, created_at"

func scanClient(row scanner) (*aegir.Client, error) {
	var c aegir.Client
	return &c, row.Scan(&c.Name, &c.Title, &c.Email, &c.QuotaSites, &c.QuotaDisk, timeCol{&c.CreatedAt})
}

// CreateClient adds a client.
func (s *Store) CreateClient(ctx context.Context, c *aegir.Client) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		err := tx.row(ctx, `INSERT INTO clients (name, title, email, quota_sites, quota_disk, created_at) VALUES ($1, $2, $3, $4, $5, $now)
			ON CONFLICT DO NOTHING RETURNING created_at`, c.Name, c.Title, c.Email, c.QuotaSites, c.QuotaDisk).Scan(timeCol{&c.CreatedAt})
		if errors.Is(err, sql.ErrNoRows) {
			return aegir.Errorf(aegir.ECONFLICT, "client %q already exists", c.Name)
		}
		return err
	})
}

// GetClient returns a client.
func (s *Store) GetClient(ctx context.Context, name string) (*aegir.Client, error) {
	return get(ctx, s.reader(), scanClient, "SELECT "+clientCols+" FROM clients WHERE name = $1", name, "client %q does not exist")
}

// UpdateClient replaces a client's title, email and quotas.
func (s *Store) UpdateClient(ctx context.Context, c *aegir.Client) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		err := tx.row(ctx, `UPDATE clients SET title = $1, email = $2, quota_sites = $3, quota_disk = $4 WHERE name = $5 RETURNING created_at`,
			c.Title, c.Email, c.QuotaSites, c.QuotaDisk, c.Name).Scan(timeCol{&c.CreatedAt})
		if errors.Is(err, sql.ErrNoRows) {
			return aegir.Errorf(aegir.ENOTFOUND, "client %q does not exist", c.Name)
		}
		return err
	})
}

// DeleteClient removes a client that owns no site.
func (s *Store) DeleteClient(ctx context.Context, name string) error {
	return s.deleteUnused(ctx, "clients", name, aegir.Errorf(aegir.ENOTFOUND, "client %q does not exist", name),
		`SELECT count(*), 0 FROM sites WHERE client = $1 AND status <> 'deleted'`,
		func(sites, _ int) error {
			return aegir.Errorf(aegir.ECONFLICT, "client %q still owns %d sites", name, sites)
		}, "client")
}

// ListClients returns one page of clients by name.
func (s *Store) ListClients(ctx context.Context, f aegir.ListFilter) ([]*aegir.Client, int, error) {
	c := s.nameFilter(f.Query).scope("%s", "name", f.Scope)
	return listPage(ctx, s, "clients", c, clientCols, "name", f.Page, f.PerPage, scanClient)
}
