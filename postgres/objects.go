package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/jackc/pgx/v5"
)

// nameTaken reports what else holds a context name: "server", "platform",
// "site" (not deleted), or "" when the name is free. Servers, platforms
// and sites share one namespace: each becomes $AEGIR_HOME/contexts/<name>.yml.
func nameTaken(ctx context.Context, tx pgx.Tx, name string) (string, error) {
	var kind string
	err := tx.QueryRow(ctx, `
		SELECT 'server' FROM servers WHERE name = $1
		UNION ALL SELECT 'platform' FROM platforms WHERE name = $1
		UNION ALL SELECT 'site' FROM sites WHERE name = $1 AND status <> 'deleted'
		LIMIT 1`, name).Scan(&kind)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return kind, err
}

func nameConflict(kind, name string) error {
	return aegir.Errorf(aegir.ECONFLICT, "a %s named @%s already exists", kind, name)
}

// checkRef returns an EINVALID error naming field unless the row exists.
func checkRef(ctx context.Context, tx pgx.Tx, field, table, name string) error {
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

func scanServer(row pgx.Row) (*aegir.ServerRecord, error) {
	var r aegir.ServerRecord
	var props []byte
	if err := row.Scan(&r.Name, &props, &r.Status, &r.CreatedAt, &r.UpdatedAt); err != nil {
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
	return s.write(ctx, func(tx pgx.Tx) error {
		if kind, err := nameTaken(ctx, tx, r.Name); err != nil {
			return err
		} else if kind != "" {
			return nameConflict(kind, r.Name)
		}
		return tx.QueryRow(ctx, `INSERT INTO servers (name, props, status, created_at, updated_at) VALUES ($1, $2, $3, now(), now())
			RETURNING created_at, updated_at`, r.Name, props, r.Status).Scan(&r.CreatedAt, &r.UpdatedAt)
	})
}

// GetServer returns a server.
func (s *Store) GetServer(ctx context.Context, name string) (*aegir.ServerRecord, error) {
	r, err := scanServer(s.pool.QueryRow(ctx, "SELECT "+serverCols+" FROM servers WHERE name = $1", name))
	if errors.Is(err, pgx.ErrNoRows) {
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
	return s.write(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE servers SET props = $1, status = $2, updated_at = now() WHERE name = $3 RETURNING created_at, updated_at`,
			props, r.Status, r.Name).Scan(&r.CreatedAt, &r.UpdatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return aegir.Errorf(aegir.ENOTFOUND, "server @%s does not exist", r.Name)
		}
		return err
	})
}

// DeleteServer removes a server that nothing uses.
func (s *Store) DeleteServer(ctx context.Context, name string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		if ok, err := exists(ctx, tx, "SELECT 1 FROM servers WHERE name = $1 FOR UPDATE", name); err != nil {
			return err
		} else if !ok {
			return aegir.Errorf(aegir.ENOTFOUND, "server @%s does not exist", name)
		}
		var platforms, sites int
		if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM platforms WHERE web_server = $1),
			(SELECT count(*) FROM sites WHERE db_server = $1 AND status <> 'deleted')`, name).Scan(&platforms, &sites); err != nil {
			return err
		}
		if platforms+sites > 0 {
			return aegir.Errorf(aegir.ECONFLICT, "server @%s is used by %d platforms and %d sites", name, platforms, sites)
		}
		if err := dropDeletedSites(ctx, tx, "db_server", name); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM servers WHERE name = $1`, name)
		return err
	})
}

// ListServers returns one page of servers by name.
func (s *Store) ListServers(ctx context.Context, f aegir.ListFilter) ([]*aegir.ServerRecord, int, error) {
	limit, offset := aegir.Paginate(f.Page, f.PerPage)
	var list []*aegir.ServerRecord
	total, err := s.page(ctx, "servers", nameFilter(f.Query), serverCols, "name", limit, offset, func(rows pgx.Rows) error {
		r, err := scanServer(rows)
		list = append(list, r)
		return err
	})
	return list, total, err
}

// --- platforms ---

const platformCols = `name, props, app, version, locked, status, created_at, updated_at,
	ARRAY(SELECT client FROM platform_clients pc WHERE pc.platform = platforms.name ORDER BY client)`

func scanPlatform(row pgx.Row) (*aegir.PlatformRecord, error) {
	var r aegir.PlatformRecord
	var props []byte
	if err := row.Scan(&r.Name, &props, &r.App, &r.Version, &r.Locked, &r.Status, &r.CreatedAt, &r.UpdatedAt, &r.Clients); err != nil {
		return nil, err
	}
	r.Clients = normalClients(r.Clients)
	return &r, aegir.UnmarshalProps(props, &r.Platform)
}

func setPlatformClients(ctx context.Context, tx pgx.Tx, platform string, clients []string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM platform_clients WHERE platform = $1`, platform); err != nil {
		return err
	}
	for _, c := range clients {
		if err := checkRef(ctx, tx, "clients", "clients", c); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO platform_clients (platform, client) VALUES ($1, $2)`, platform, c); err != nil {
			return err
		}
	}
	return nil
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
	return s.write(ctx, func(tx pgx.Tx) error {
		if kind, err := nameTaken(ctx, tx, r.Name); err != nil {
			return err
		} else if kind != "" {
			return nameConflict(kind, r.Name)
		}
		webServer := aegir.ContextName(r.Platform.WebServer)
		if err := checkRef(ctx, tx, "web_server", "servers", webServer); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO platforms (name, props, web_server, app, version, locked, status, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, now(), now()) RETURNING created_at, updated_at`,
			r.Name, props, nullString(webServer), r.App, r.Version, r.Locked, r.Status).Scan(&r.CreatedAt, &r.UpdatedAt); err != nil {
			return err
		}
		if err := setPlatformClients(ctx, tx, r.Name, clients); err != nil {
			return err
		}
		r.Clients = clients
		return nil
	})
}

// GetPlatform returns a platform.
func (s *Store) GetPlatform(ctx context.Context, name string) (*aegir.PlatformRecord, error) {
	r, err := scanPlatform(s.pool.QueryRow(ctx, "SELECT "+platformCols+" FROM platforms WHERE name = $1", name))
	if errors.Is(err, pgx.ErrNoRows) {
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
	clients := normalClients(r.Clients)
	return s.write(ctx, func(tx pgx.Tx) error {
		webServer := aegir.ContextName(r.Platform.WebServer)
		if err := checkRef(ctx, tx, "web_server", "servers", webServer); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `UPDATE platforms SET props = $1, web_server = $2, app = $3, version = $4, locked = $5, status = $6, updated_at = now()
			WHERE name = $7 RETURNING created_at, updated_at`,
			props, nullString(webServer), r.App, r.Version, r.Locked, r.Status, r.Name).Scan(&r.CreatedAt, &r.UpdatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return aegir.Errorf(aegir.ENOTFOUND, "platform @%s does not exist", r.Name)
		} else if err != nil {
			return err
		}
		if err := setPlatformClients(ctx, tx, r.Name, clients); err != nil {
			return err
		}
		r.Clients = clients
		return nil
	})
}

// DeletePlatform removes a platform without sites.
func (s *Store) DeletePlatform(ctx context.Context, name string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		if ok, err := exists(ctx, tx, "SELECT 1 FROM platforms WHERE name = $1 FOR UPDATE", name); err != nil {
			return err
		} else if !ok {
			return aegir.Errorf(aegir.ENOTFOUND, "platform @%s does not exist", name)
		}
		var sites int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM sites WHERE platform = $1 AND status <> 'deleted'`, name).Scan(&sites); err != nil {
			return err
		}
		if sites > 0 {
			return aegir.Errorf(aegir.ECONFLICT, "platform @%s still has %d sites", name, sites)
		}
		if err := dropDeletedSites(ctx, tx, "platform", name); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM platforms WHERE name = $1`, name)
		return err
	})
}

// ListPlatforms returns one page of platforms by name.
func (s *Store) ListPlatforms(ctx context.Context, f aegir.ListFilter) ([]*aegir.PlatformRecord, int, error) {
	limit, offset := aegir.Paginate(f.Page, f.PerPage)
	var list []*aegir.PlatformRecord
	total, err := s.page(ctx, "platforms", nameFilter(f.Query).scope(platformScope, f.Scope), platformCols, "name", limit, offset, func(rows pgx.Rows) error {
		r, err := scanPlatform(rows)
		list = append(list, r)
		return err
	})
	return list, total, err
}

// --- sites ---

const siteCols = "name, props, client, status, last_cron, last_backup, disk_files, disk_db, created_at, updated_at"

func scanSite(row pgx.Row) (*aegir.SiteRecord, error) {
	var r aegir.SiteRecord
	var props []byte
	var client *string
	if err := row.Scan(&r.Name, &props, &client, &r.Status, &r.LastCron, &r.LastBackup,
		&r.DiskFiles, &r.DiskDB, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return nil, err
	}
	if client != nil {
		r.Client = *client
	}
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
func claimNames(ctx context.Context, tx pgx.Tx, r *aegir.SiteRecord) error {
	names := siteNames(r)
	var name, owner string
	err := tx.QueryRow(ctx, `SELECT alias, site FROM aliases WHERE alias = ANY($1) AND site <> $2 ORDER BY array_position($1, alias) LIMIT 1`,
		names, r.Name).Scan(&name, &owner)
	if err == nil {
		return nameInUse(r.Name, name, owner)
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM aliases WHERE site = $1`, r.Name); err != nil {
		return err
	}
	if len(names) == 0 {
		return nil
	}
	_, err = tx.Exec(ctx, `INSERT INTO aliases (alias, site) SELECT unnest($1::text[]), $2`, names, r.Name)
	return err
}

func nameInUse(site, name, owner string) error {
	field := "aliases"
	if name == site {
		field = "uri"
	}
	// The message does not name the other site: it may be another
	// client's (the owner stays in the error's cause, for logs).
	return &aegir.Error{Code: aegir.ECONFLICT, Field: field, Message: "\"" + name + "\" is already used by another site",
		Cause: fmt.Errorf("%q is a name of site @%s", name, owner)}
}

func checkSiteRefs(ctx context.Context, tx pgx.Tx, r *aegir.SiteRecord) error {
	if err := checkRef(ctx, tx, "platform", "platforms", aegir.ContextName(r.Site.Platform)); err != nil {
		return err
	}
	if err := checkRef(ctx, tx, "db_server", "servers", aegir.ContextName(r.Site.DBServer)); err != nil {
		return err
	}
	return checkRef(ctx, tx, "client", "clients", r.Client)
}

func siteArgs(r *aegir.SiteRecord, props []byte) []any {
	return []any{props, aegir.ContextName(r.Site.Platform), nullString(aegir.ContextName(r.Site.DBServer)),
		nullString(r.Client), r.Status, utcPtr(r.LastCron), utcPtr(r.LastBackup), r.DiskFiles, r.DiskDB, r.Name}
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

func utcPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
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
	return s.write(ctx, func(tx pgx.Tx) error {
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
		if err := tx.QueryRow(ctx, `INSERT INTO sites (props, platform, db_server, client, status, last_cron, last_backup, disk_files, disk_db, name, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now(), now()) RETURNING created_at, updated_at`,
			siteArgs(r, props)...).Scan(&r.CreatedAt, &r.UpdatedAt); err != nil {
			return err
		}
		return claimNames(ctx, tx, r)
	})
}

// GetSite returns a site.
func (s *Store) GetSite(ctx context.Context, name string) (*aegir.SiteRecord, error) {
	r, err := scanSite(s.pool.QueryRow(ctx, "SELECT "+siteCols+" FROM sites WHERE name = $1", name))
	if errors.Is(err, pgx.ErrNoRows) {
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
	return s.write(ctx, func(tx pgx.Tx) error {
		if ok, err := exists(ctx, tx, `SELECT 1 FROM sites WHERE name = $1 FOR UPDATE`, r.Name); err != nil {
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
		if err := tx.QueryRow(ctx, `UPDATE sites SET props = $1, platform = $2, db_server = $3, client = $4, status = $5,
			last_cron = $6, last_backup = $7, disk_files = $8, disk_db = $9, updated_at = now() WHERE name = $10
			RETURNING created_at, updated_at`, siteArgs(r, props)...).Scan(&r.CreatedAt, &r.UpdatedAt); err != nil {
			return err
		}
		return claimNames(ctx, tx, r)
	})
}

// DeleteSite removes a site's record, names and packages.
func (s *Store) DeleteSite(ctx context.Context, name string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM sites WHERE name = $1`, name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return aegir.Errorf(aegir.ENOTFOUND, "site @%s does not exist", name)
		}
		return nil
	})
}

// ListSites returns one page of sites by name.
func (s *Store) ListSites(ctx context.Context, f aegir.SiteFilter) ([]*aegir.SiteRecord, int, error) {
	c := nameFilter(f.Query)
	for _, f := range []struct{ col, v string }{{"platform", aegir.ContextName(f.Platform)}, {"client", f.Client}, {"status", f.Status}} {
		if f.v != "" {
			c.add(f.col+" = ?", f.v)
		}
	}
	c.scope(siteScope, f.Scope)
	limit, offset := aegir.Paginate(f.Page, f.PerPage)
	var list []*aegir.SiteRecord
	total, err := s.page(ctx, "sites", c, siteCols, "name", limit, offset, func(rows pgx.Rows) error {
		r, err := scanSite(rows)
		list = append(list, r)
		return err
	})
	return list, total, err
}

// --- packages ---

func (s *Store) setPackages(ctx context.Context, table, key, name string, pkgs []aegir.Package) error {
	for _, p := range pkgs {
		if p.Name == "" || p.Type == "" {
			return aegir.FieldErrorf("packages", "every package needs a name and a type")
		}
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		// Locking the owner's row orders two concurrent replacements.
		if ok, err := exists(ctx, tx, "SELECT 1 FROM "+key+"s WHERE name = $1 FOR UPDATE", name); err != nil {
			return err
		} else if !ok {
			return aegir.Errorf(aegir.ENOTFOUND, "%s @%s does not exist", key, name)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM "+table+" WHERE "+key+" = $1", name); err != nil {
			return err
		}
		rows := make([][]any, len(pkgs))
		for i, p := range pkgs {
			rows[i] = []any{name, i, p.Name, p.Type, p.Version, p.Schema, p.Path}
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{table}, []string{key, "position", "name", "type", "version", "schema_version", "path"},
			pgx.CopyFromRows(rows))
		return err
	})
}

func (s *Store) packages(ctx context.Context, table, key, name string) ([]aegir.Package, error) {
	var pkgs []aegir.Package
	err := s.read(ctx, func(tx pgx.Tx) error {
		if ok, err := exists(ctx, tx, "SELECT 1 FROM "+key+"s WHERE name = $1", name); err != nil {
			return err
		} else if !ok {
			return aegir.Errorf(aegir.ENOTFOUND, "%s @%s does not exist", key, name)
		}
		rows, err := tx.Query(ctx, "SELECT name, type, version, schema_version, path FROM "+table+" WHERE "+key+" = $1 ORDER BY position", name)
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

const clientCols = "name, title, email, created_at"

func scanClient(row pgx.Row) (*aegir.Client, error) {
	var c aegir.Client
	return &c, row.Scan(&c.Name, &c.Title, &c.Email, &c.CreatedAt)
}

// CreateClient adds a client.
func (s *Store) CreateClient(ctx context.Context, c *aegir.Client) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO clients (name, title, email, created_at) VALUES ($1, $2, $3, now())
			ON CONFLICT DO NOTHING RETURNING created_at`, c.Name, c.Title, c.Email).Scan(&c.CreatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return aegir.Errorf(aegir.ECONFLICT, "client %q already exists", c.Name)
		}
		return err
	})
}

// GetClient returns a client.
func (s *Store) GetClient(ctx context.Context, name string) (*aegir.Client, error) {
	c, err := scanClient(s.pool.QueryRow(ctx, "SELECT "+clientCols+" FROM clients WHERE name = $1", name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "client %q does not exist", name)
	}
	return c, err
}

// UpdateClient replaces a client's title and email.
func (s *Store) UpdateClient(ctx context.Context, c *aegir.Client) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE clients SET title = $1, email = $2 WHERE name = $3 RETURNING created_at`,
			c.Title, c.Email, c.Name).Scan(&c.CreatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return aegir.Errorf(aegir.ENOTFOUND, "client %q does not exist", c.Name)
		}
		return err
	})
}

// DeleteClient removes a client that owns no site.
func (s *Store) DeleteClient(ctx context.Context, name string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		if ok, err := exists(ctx, tx, "SELECT 1 FROM clients WHERE name = $1 FOR UPDATE", name); err != nil {
			return err
		} else if !ok {
			return aegir.Errorf(aegir.ENOTFOUND, "client %q does not exist", name)
		}
		var sites int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM sites WHERE client = $1 AND status <> 'deleted'`, name).Scan(&sites); err != nil {
			return err
		}
		if sites > 0 {
			return aegir.Errorf(aegir.ECONFLICT, "client %q still owns %d sites", name, sites)
		}
		if err := dropDeletedSites(ctx, tx, "client", name); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM clients WHERE name = $1`, name)
		return err
	})
}

// ListClients returns one page of clients by name.
func (s *Store) ListClients(ctx context.Context, f aegir.ListFilter) ([]*aegir.Client, int, error) {
	limit, offset := aegir.Paginate(f.Page, f.PerPage)
	var list []*aegir.Client
	total, err := s.page(ctx, "clients", nameFilter(f.Query).scope(clientScope, f.Scope), clientCols, "name", limit, offset, func(rows pgx.Rows) error {
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
func dropDeletedSites(ctx context.Context, tx pgx.Tx, column string, value any) error {
	deleted := `SELECT name FROM sites WHERE status = 'deleted' AND ` + column + ` = $2`
	suffix := aegir.RetiredSuffix(time.Now())
	if _, err := tx.Exec(ctx, `UPDATE backups SET site = site || $1 WHERE site IN (`+deleted+`)`, suffix, value); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE tasks SET object = object || $1 WHERE object_type = 'site' AND object IN (`+deleted+`)`, suffix, value); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM sites WHERE status = 'deleted' AND `+column+` = $1`, value)
	return err
}
