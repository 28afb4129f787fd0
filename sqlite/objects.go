package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// nameTaken reports what else holds a context name: "server", "platform",
// "site" (not deleted), or "" when the name is free. Servers, platforms
// and sites share one namespace: each becomes $AEGIR_HOME/contexts/<name>.yml.
func nameTaken(ctx context.Context, tx querier, name string) (string, error) {
	var kind string
	err := tx.QueryRowContext(ctx, `
		SELECT 'server' FROM servers WHERE name = ?1
		UNION ALL SELECT 'platform' FROM platforms WHERE name = ?1
		UNION ALL SELECT 'site' FROM sites WHERE name = ?1 AND status <> 'deleted'
		LIMIT 1`, name).Scan(&kind)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return kind, err
}

func nameConflict(kind, name string) error {
	return aegir.Errorf(aegir.ECONFLICT, "a %s named @%s already exists", kind, name)
}

// checkRef returns an EINVALID error naming field unless the row exists.
func checkRef(ctx context.Context, tx querier, field, table, name string) error {
	if name == "" {
		return nil
	}
	ok, err := exists(ctx, tx, "SELECT 1 FROM "+table+" WHERE name = ?", name)
	if err != nil {
		return err
	}
	if !ok {
		kind := strings.TrimSuffix(table, "s")
		if table == "clients" {
			return aegir.FieldErrorf(field, "client %q does not exist", name)
		}
		return aegir.FieldErrorf(field, "%s @%s does not exist", kind, name)
	}
	return nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// normalClients returns the sorted, unique client list, nil when empty.
func normalClients(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	out := slices.Clone(list)
	slices.Sort(out)
	return slices.Compact(out)
}

// --- servers ---

const serverCols = "name, props, status, created_at, updated_at"

func scanServer(row scanner) (*aegir.ServerRecord, error) {
	var r aegir.ServerRecord
	var props string
	if err := row.Scan(&r.Name, &props, &r.Status, timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt}); err != nil {
		return nil, err
	}
	return &r, aegir.UnmarshalProps([]byte(props), &r.Server)
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
	t := now()
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		if kind, err := nameTaken(ctx, tx, r.Name); err != nil {
			return err
		} else if kind != "" {
			return nameConflict(kind, r.Name)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO servers (name, props, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			r.Name, string(props), r.Status, fmtTime(t), fmtTime(t)); err != nil {
			return err
		}
		r.CreatedAt, r.UpdatedAt = t, t
		return nil
	})
}

// GetServer returns a server.
func (s *Store) GetServer(ctx context.Context, name string) (*aegir.ServerRecord, error) {
	r, err := scanServer(s.queryRow(ctx, "SELECT "+serverCols+" FROM servers WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "server @%s does not exist", name)
	}
	return r, err
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
	t := now()
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		err := tx.QueryRowContext(ctx, `UPDATE servers SET props = ?, status = ?, updated_at = ? WHERE name = ? RETURNING created_at`,
			string(props), r.Status, fmtTime(t), r.Name).Scan(timeCol{&r.CreatedAt})
		if errors.Is(err, sql.ErrNoRows) {
			return aegir.Errorf(aegir.ENOTFOUND, "server @%s does not exist", r.Name)
		}
		r.UpdatedAt = t
		return err
	})
}

// DeleteServer removes a server that nothing uses.
func (s *Store) DeleteServer(ctx context.Context, name string) error {
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		if ok, err := exists(ctx, tx, "SELECT 1 FROM servers WHERE name = ?", name); err != nil {
			return err
		} else if !ok {
			return aegir.Errorf(aegir.ENOTFOUND, "server @%s does not exist", name)
		}
		var platforms, sites int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM platforms WHERE web_server = ?1),
			(SELECT count(*) FROM sites WHERE db_server = ?1 AND status <> 'deleted')`, name).Scan(&platforms, &sites); err != nil {
			return err
		}
		if platforms+sites > 0 {
			return aegir.Errorf(aegir.ECONFLICT, "server @%s is used by %d platforms and %d sites", name, platforms, sites)
		}
		if err := dropDeletedSites(ctx, tx, "db_server", name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM servers WHERE name = ?`, name)
		return err
	})
}

// ListServers returns one page of servers by name.
func (s *Store) ListServers(ctx context.Context, f aegir.ListFilter) ([]*aegir.ServerRecord, int, error) {
	conds, args := nameFilter(f.Query)
	limit, offset := aegir.Paginate(f.Page, f.PerPage)
	var list []*aegir.ServerRecord
	total, err := s.page(ctx, "servers", conds, args, serverCols, "name", limit, offset, func(rows *sql.Rows) error {
		r, err := scanServer(rows)
		list = append(list, r)
		return err
	})
	return list, total, err
}

func nameFilter(q string) ([]string, []any) {
	if q == "" {
		return nil, nil
	}
	return []string{`name LIKE ? ESCAPE '\'`}, []any{likeContains(q)}
}

// --- platforms ---

const platformCols = `name, props, app, version, locked, status, created_at, updated_at,
	(SELECT json_group_array(client ORDER BY client) FROM platform_clients pc WHERE pc.platform = platforms.name)`

func scanPlatform(row scanner) (*aegir.PlatformRecord, error) {
	var r aegir.PlatformRecord
	var props string
	if err := row.Scan(&r.Name, &props, &r.App, &r.Version, &r.Locked, &r.Status,
		timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt}, jsonCol{&r.Clients}); err != nil {
		return nil, err
	}
	r.Clients = normalClients(r.Clients)
	return &r, aegir.UnmarshalProps([]byte(props), &r.Platform)
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
	t := now()
	clients := normalClients(r.Clients)
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		if kind, err := nameTaken(ctx, tx, r.Name); err != nil {
			return err
		} else if kind != "" {
			return nameConflict(kind, r.Name)
		}
		webServer := aegir.ContextName(r.Platform.WebServer)
		if err := checkRef(ctx, tx, "web_server", "servers", webServer); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO platforms (name, props, web_server, app, version, locked, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Name, string(props), nullString(webServer), r.App, r.Version, r.Locked, r.Status, fmtTime(t), fmtTime(t)); err != nil {
			return err
		}
		if err := setPlatformClients(ctx, tx, r.Name, clients); err != nil {
			return err
		}
		r.CreatedAt, r.UpdatedAt, r.Clients = t, t, clients
		return nil
	})
}

func setPlatformClients(ctx context.Context, tx querier, platform string, clients []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM platform_clients WHERE platform = ?`, platform); err != nil {
		return err
	}
	for _, c := range clients {
		if err := checkRef(ctx, tx, "clients", "clients", c); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO platform_clients (platform, client) VALUES (?, ?)`, platform, c); err != nil {
			return err
		}
	}
	return nil
}

// GetPlatform returns a platform.
func (s *Store) GetPlatform(ctx context.Context, name string) (*aegir.PlatformRecord, error) {
	r, err := scanPlatform(s.queryRow(ctx, "SELECT "+platformCols+" FROM platforms WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "platform @%s does not exist", name)
	}
	return r, err
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
	t := now()
	clients := normalClients(r.Clients)
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		webServer := aegir.ContextName(r.Platform.WebServer)
		if err := checkRef(ctx, tx, "web_server", "servers", webServer); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `UPDATE platforms SET props = ?, web_server = ?, app = ?, version = ?, locked = ?, status = ?, updated_at = ?
			WHERE name = ? RETURNING created_at`,
			string(props), nullString(webServer), r.App, r.Version, r.Locked, r.Status, fmtTime(t), r.Name).Scan(timeCol{&r.CreatedAt})
		if errors.Is(err, sql.ErrNoRows) {
			return aegir.Errorf(aegir.ENOTFOUND, "platform @%s does not exist", r.Name)
		} else if err != nil {
			return err
		}
		if err := setPlatformClients(ctx, tx, r.Name, clients); err != nil {
			return err
		}
		r.UpdatedAt, r.Clients = t, clients
		return nil
	})
}

// DeletePlatform removes a platform without sites.
func (s *Store) DeletePlatform(ctx context.Context, name string) error {
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		if ok, err := exists(ctx, tx, "SELECT 1 FROM platforms WHERE name = ?", name); err != nil {
			return err
		} else if !ok {
			return aegir.Errorf(aegir.ENOTFOUND, "platform @%s does not exist", name)
		}
		var sites int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sites WHERE platform = ? AND status <> 'deleted'`, name).Scan(&sites); err != nil {
			return err
		}
		if sites > 0 {
			return aegir.Errorf(aegir.ECONFLICT, "platform @%s still has %d sites", name, sites)
		}
		if err := dropDeletedSites(ctx, tx, "platform", name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM platforms WHERE name = ?`, name)
		return err
	})
}

// ListPlatforms returns one page of platforms by name.
func (s *Store) ListPlatforms(ctx context.Context, f aegir.ListFilter) ([]*aegir.PlatformRecord, int, error) {
	conds, args := nameFilter(f.Query)
	conds, args = addScope(conds, args, platformScope, f.Scope)
	limit, offset := aegir.Paginate(f.Page, f.PerPage)
	var list []*aegir.PlatformRecord
	total, err := s.page(ctx, "platforms", conds, args, platformCols, "name", limit, offset, func(rows *sql.Rows) error {
		r, err := scanPlatform(rows)
		list = append(list, r)
		return err
	})
	return list, total, err
}

// --- sites ---

const siteCols = "name, props, client, status, last_cron, last_backup, disk_files, disk_db, created_at, updated_at"

func scanSite(row scanner) (*aegir.SiteRecord, error) {
	var r aegir.SiteRecord
	var props string
	var client sql.NullString
	if err := row.Scan(&r.Name, &props, &client, &r.Status, nullTimeCol{&r.LastCron}, nullTimeCol{&r.LastBackup},
		&r.DiskFiles, &r.DiskDB, timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt}); err != nil {
		return nil, err
	}
	r.Client = client.String
	return &r, aegir.UnmarshalProps([]byte(props), &r.Site)
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
// holds one of them.
func claimNames(ctx context.Context, tx querier, r *aegir.SiteRecord) error {
	for _, n := range siteNames(r) {
		var owner string
		err := tx.QueryRowContext(ctx, `SELECT site FROM aliases WHERE alias = ? AND site <> ?`, n, r.Name).Scan(&owner)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		} else if err != nil {
			return err
		}
		return nameInUse(r.Name, n, owner)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM aliases WHERE site = ?`, r.Name); err != nil {
		return err
	}
	for _, n := range siteNames(r) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO aliases (alias, site) VALUES (?, ?)`, n, r.Name); err != nil {
			return err
		}
	}
	return nil
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

func checkSiteRefs(ctx context.Context, tx querier, r *aegir.SiteRecord) error {
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
			u := (*t).UTC().Truncate(time.Microsecond)
			*t = &u
		}
	}
}

func siteArgs(r *aegir.SiteRecord, props []byte) []any {
	return []any{string(props), aegir.ContextName(r.Site.Platform), nullString(aegir.ContextName(r.Site.DBServer)),
		nullString(r.Client), r.Status, fmtTimePtr(r.LastCron), fmtTimePtr(r.LastBackup), r.DiskFiles, r.DiskDB}
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
	t := now()
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		if kind, err := nameTaken(ctx, tx, r.Name); err != nil {
			return err
		} else if kind != "" {
			return nameConflict(kind, r.Name)
		}
		if err := checkSiteRefs(ctx, tx, r); err != nil {
			return err
		}
		// A deleted site's record is a tombstone the new site replaces.
		if err := dropDeletedSites(ctx, tx, "name", r.Name); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sites (props, platform, db_server, client, status, last_cron, last_backup, disk_files, disk_db, name, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append(siteArgs(r, props), r.Name, fmtTime(t), fmtTime(t))...); err != nil {
			return err
		}
		if err := claimNames(ctx, tx, r); err != nil {
			return err
		}
		r.CreatedAt, r.UpdatedAt = t, t
		return nil
	})
}

// GetSite returns a site.
func (s *Store) GetSite(ctx context.Context, name string) (*aegir.SiteRecord, error) {
	r, err := scanSite(s.queryRow(ctx, "SELECT "+siteCols+" FROM sites WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "site @%s does not exist", name)
	}
	return r, err
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
	t := now()
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		var created time.Time
		err := tx.QueryRowContext(ctx, `SELECT created_at FROM sites WHERE name = ?`, r.Name).Scan(timeCol{&created})
		if errors.Is(err, sql.ErrNoRows) {
			return aegir.Errorf(aegir.ENOTFOUND, "site @%s does not exist", r.Name)
		} else if err != nil {
			return err
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
		if _, err := tx.ExecContext(ctx, `UPDATE sites SET props = ?, platform = ?, db_server = ?, client = ?, status = ?,
			last_cron = ?, last_backup = ?, disk_files = ?, disk_db = ?, updated_at = ? WHERE name = ?`,
			append(siteArgs(r, props), fmtTime(t), r.Name)...); err != nil {
			return err
		}
		if err := claimNames(ctx, tx, r); err != nil {
			return err
		}
		r.CreatedAt, r.UpdatedAt = created, t
		return nil
	})
}

// DeleteSite removes a site's record, names and packages.
func (s *Store) DeleteSite(ctx context.Context, name string) error {
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sites WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return aegir.Errorf(aegir.ENOTFOUND, "site @%s does not exist", name)
		}
		return nil
	})
}

// ListSites returns one page of sites by name.
func (s *Store) ListSites(ctx context.Context, f aegir.SiteFilter) ([]*aegir.SiteRecord, int, error) {
	conds, args := nameFilter(f.Query)
	for _, c := range []struct{ col, v string }{{"platform", aegir.ContextName(f.Platform)}, {"client", f.Client}, {"status", f.Status}} {
		if c.v != "" {
			conds, args = append(conds, c.col+" = ?"), append(args, c.v)
		}
	}
	conds, args = addScope(conds, args, siteScope, f.Scope)
	limit, offset := aegir.Paginate(f.Page, f.PerPage)
	var list []*aegir.SiteRecord
	total, err := s.page(ctx, "sites", conds, args, siteCols, "name", limit, offset, func(rows *sql.Rows) error {
		r, err := scanSite(rows)
		list = append(list, r)
		return err
	})
	return list, total, err
}

// --- packages ---

func (s *Store) setPackages(ctx context.Context, table, key, kind, name string, pkgs []aegir.Package) error {
	for _, p := range pkgs {
		if p.Name == "" || p.Type == "" {
			return aegir.FieldErrorf("packages", "every package needs a name and a type")
		}
	}
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		if ok, err := exists(ctx, tx, "SELECT 1 FROM "+kind+"s WHERE name = ?", name); err != nil {
			return err
		} else if !ok {
			return aegir.Errorf(aegir.ENOTFOUND, "%s @%s does not exist", kind, name)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE "+key+" = ?", name); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, "INSERT INTO "+table+" ("+key+", position, name, type, version, schema_version, path) VALUES (?, ?, ?, ?, ?, ?, ?)")
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, p := range pkgs {
			if _, err := stmt.ExecContext(ctx, name, i, p.Name, p.Type, p.Version, p.Schema, p.Path); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) packages(ctx context.Context, table, key, kind, name string) ([]aegir.Package, error) {
	var pkgs []aegir.Package
	err := s.read(ctx, func(tx *sql.Tx) error {
		if ok, err := exists(ctx, tx, "SELECT 1 FROM "+kind+"s WHERE name = ?", name); err != nil {
			return err
		} else if !ok {
			return aegir.Errorf(aegir.ENOTFOUND, "%s @%s does not exist", kind, name)
		}
		rows, err := tx.QueryContext(ctx, "SELECT name, type, version, schema_version, path FROM "+table+" WHERE "+key+" = ? ORDER BY position", name)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p aegir.Package
			if err := rows.Scan(&p.Name, &p.Type, &p.Version, &p.Schema, &p.Path); err != nil {
				return err
			}
			pkgs = append(pkgs, p)
		}
		return rows.Err()
	})
	return pkgs, err
}

// SetPlatformPackages replaces the platform's packages.
func (s *Store) SetPlatformPackages(ctx context.Context, platform string, pkgs []aegir.Package) error {
	return s.setPackages(ctx, "platform_packages", "platform", "platform", platform, pkgs)
}

// PlatformPackages returns the platform's packages.
func (s *Store) PlatformPackages(ctx context.Context, platform string) ([]aegir.Package, error) {
	return s.packages(ctx, "platform_packages", "platform", "platform", platform)
}

// SetSitePackages replaces the site's packages.
func (s *Store) SetSitePackages(ctx context.Context, site string, pkgs []aegir.Package) error {
	return s.setPackages(ctx, "site_packages", "site", "site", site, pkgs)
}

// SitePackages returns the site's packages.
func (s *Store) SitePackages(ctx context.Context, site string) ([]aegir.Package, error) {
	return s.packages(ctx, "site_packages", "site", "site", site)
}

// --- clients ---

const clientCols = "name, title, email, created_at"

func scanClient(row scanner) (*aegir.Client, error) {
	var c aegir.Client
	return &c, row.Scan(&c.Name, &c.Title, &c.Email, timeCol{&c.CreatedAt})
}

// CreateClient adds a client.
func (s *Store) CreateClient(ctx context.Context, c *aegir.Client) error {
	if err := c.Validate(); err != nil {
		return err
	}
	t := now()
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO clients (name, title, email, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			c.Name, c.Title, c.Email, fmtTime(t))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return aegir.Errorf(aegir.ECONFLICT, "client %q already exists", c.Name)
		}
		c.CreatedAt = t
		return nil
	})
}

// GetClient returns a client.
func (s *Store) GetClient(ctx context.Context, name string) (*aegir.Client, error) {
	c, err := scanClient(s.queryRow(ctx, "SELECT "+clientCols+" FROM clients WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "client %q does not exist", name)
	}
	return c, err
}

// UpdateClient replaces a client's title and email.
func (s *Store) UpdateClient(ctx context.Context, c *aegir.Client) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		err := tx.QueryRowContext(ctx, `UPDATE clients SET title = ?, email = ? WHERE name = ? RETURNING created_at`,
			c.Title, c.Email, c.Name).Scan(timeCol{&c.CreatedAt})
		if errors.Is(err, sql.ErrNoRows) {
			return aegir.Errorf(aegir.ENOTFOUND, "client %q does not exist", c.Name)
		}
		return err
	})
}

// DeleteClient removes a client that owns no site.
func (s *Store) DeleteClient(ctx context.Context, name string) error {
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		if ok, err := exists(ctx, tx, "SELECT 1 FROM clients WHERE name = ?", name); err != nil {
			return err
		} else if !ok {
			return aegir.Errorf(aegir.ENOTFOUND, "client %q does not exist", name)
		}
		var sites int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sites WHERE client = ? AND status <> 'deleted'`, name).Scan(&sites); err != nil {
			return err
		}
		if sites > 0 {
			return aegir.Errorf(aegir.ECONFLICT, "client %q still owns %d sites", name, sites)
		}
		if err := dropDeletedSites(ctx, tx, "client", name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM clients WHERE name = ?`, name)
		return err
	})
}

// ListClients returns one page of clients by name.
func (s *Store) ListClients(ctx context.Context, f aegir.ListFilter) ([]*aegir.Client, int, error) {
	conds, args := nameFilter(f.Query)
	conds, args = addScope(conds, args, clientScope, f.Scope)
	limit, offset := aegir.Paginate(f.Page, f.PerPage)
	var list []*aegir.Client
	total, err := s.page(ctx, "clients", conds, args, clientCols, "name", limit, offset, func(rows *sql.Rows) error {
		c, err := scanClient(rows)
		list = append(list, c)
		return err
	})
	return list, total, err
}

// dropDeletedSites removes the records of the deleted sites whose column
// (name, platform, db_server or client: never user input) is value, and
// first binds their backups and tasks to a name no site can take
// (<name>~deleted-<nanoseconds>): they stay for administrators, and a new
// site of that name, perhaps another client's, does not inherit its
// predecessor's backups (database and files) and task logs (login links).
func dropDeletedSites(ctx context.Context, tx querier, column string, value any) error {
	deleted := `SELECT name FROM sites WHERE status = 'deleted' AND ` + column + ` = ?`
	suffix := aegir.RetiredSuffix(time.Now())
	if _, err := tx.ExecContext(ctx, `UPDATE backups SET site = site || ? WHERE site IN (`+deleted+`)`, suffix, value); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE tasks SET object = object || ? WHERE object_type = 'site' AND object IN (`+deleted+`)`, suffix, value); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM sites WHERE status = 'deleted' AND `+column+` = ?`, value)
	return err
}
