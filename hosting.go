package aegir

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
)

// This file holds the front end's records and the Store interface the
// sqlite and postgres packages implement; storetest holds the conformance
// suite both pass.

// Front-end statuses of a site record, beside SiteEnabled and SiteDisabled.
// A site record marked SiteDeleted is a tombstone: its uri and aliases are
// free for other sites.
const (
	SiteInstalling = "installing"
	SiteFailed     = "failed"
	SiteDeleted    = "deleted"
)

// User roles.
const (
	RoleAdministrator   = "administrator"
	RolePlatformManager = "platform_manager"
	RoleAccountManager  = "account_manager"
	RoleClient          = "client"
)

// Pagination defaults of every list.
const (
	DefaultPerPage = 50
	MaxPerPage     = 1000
)

var (
	clientNamePattern = regexp.MustCompile(`^[a-z0-9_-]{1,16}$`)
	userNamePattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9_.@-]{0,63}$`)
	statusPattern     = regexp.MustCompile(`^[a-z_]{0,32}$`)
	taskTypePattern   = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)
	argNamePattern    = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)
	sha256Pattern     = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// ServerRecord is the front end's record of a server.
type ServerRecord struct {
	Name      string
	Server    Server
	Status    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PlatformRecord is the front end's record of a platform, with what verify
// found in its codebase.
type PlatformRecord struct {
	Name     string
	Platform Platform
	App      string
	Version  string
	Locked   bool
	// Clients may create sites on the platform; empty means every client.
	// The store keeps them sorted.
	Clients   []string
	Status    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// SiteRecord is the front end's record of a site. Name is the site's uri.
type SiteRecord struct {
	Name       string
	Site       Site
	Client     string
	Status     string
	LastCron   *time.Time
	LastBackup *time.Time
	DiskFiles  int64 // bytes under sites/<uri>
	DiskDB     int64 // bytes of the database
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Client owns sites; users act for clients.
type Client struct {
	Name      string    `json:"name"`
	Title     string    `json:"title"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}

// User is an account of the front end.
type User struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	Email        string    `json:"email"`
	Role         string    `json:"role"`
	PasswordHash string    `json:"-"`
	Disabled     bool      `json:"disabled"`
	Clients      []string  `json:"clients"` // sorted by the store
	CreatedAt    time.Time `json:"created_at"`
}

// Token is an API token of a user. Only the SHA-256 of its secret is
// stored (see HashToken).
type Token struct {
	ID        int64      `json:"id"`
	UserID    int64      `json:"user_id"`
	Name      string     `json:"name"`
	Hash      string     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	LastUsed  *time.Time `json:"last_used,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Task is one queued or finished operation on a server, platform or site.
type Task struct {
	ID         int64             `json:"id"`
	Type       string            `json:"type"`
	ObjectType ContextType       `json:"object_type"`
	Object     string            `json:"object"`
	Platform   string            `json:"platform,omitempty"` // the platform the object is or belongs to
	Exclusive  bool              `json:"exclusive,omitempty"`
	Args       map[string]string `json:"args,omitempty"`
	Status     string            `json:"status"`
	Creator    string            `json:"creator,omitempty"`
	CreatedAt  time.Time         `json:"created_at"`
	StartedAt  *time.Time        `json:"started_at,omitempty"`
	FinishedAt *time.Time        `json:"finished_at,omitempty"`
	Worker     string            `json:"worker,omitempty"`
	Data       map[string]any    `json:"data,omitempty"`
}

// LoginLink is a one-time link that logs a user in (to set a password,
// or instead of one). Only the SHA-256 of its secret is stored.
type LoginLink struct {
	Hash      string
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
}

// AuditEntry records who did what, for changes that are not tasks (users,
// clients, tokens, logins).
type AuditEntry struct {
	ID      int64     `json:"id"`
	Time    time.Time `json:"time"`
	Actor   string    `json:"actor"`  // user name, or "" for the system
	Action  string    `json:"action"` // "user.create", "login.failed" ...
	Object  string    `json:"object"` // "user:ann", "client:acme"
	Detail  string    `json:"detail,omitempty"`
	Address string    `json:"address,omitempty"` // the client's IP
}

// AuditFilter selects one page of the audit log; empty fields match all.
type AuditFilter struct {
	Actor   string
	Object  string
	Page    int
	PerPage int
}

// DiskUsage is the disk space sites use on one server.
type DiskUsage struct {
	Server string `json:"server"`
	Files  int64  `json:"files"`
	DB     int64  `json:"db"`
	Sites  int    `json:"sites"` // sites whose files or database are there
}

// TaskHour sums up the tasks that finished in one hour.
type TaskHour struct {
	Hour       time.Time `json:"hour"` // UTC, start of the hour
	Finished   int       `json:"finished"`
	Failed     int       `json:"failed"`
	AvgSeconds float64   `json:"avg_seconds"`
	MaxSeconds float64   `json:"max_seconds"`
}

// TaskLogEntry is one stored line of a task's log; Seq counts from 1 for
// each task.
type TaskLogEntry struct {
	TaskID  int64     `json:"task_id"`
	Seq     int64     `json:"seq"`
	Level   string    `json:"level"`
	Message string    `json:"message"`
	Time    time.Time `json:"time"`
}

// Backup is a backup archive of a site. Backup rows outlive the site
// record, as the archives outlive the site.
type Backup struct {
	ID        int64     `json:"id"`
	Site      string    `json:"site"`
	File      string    `json:"file"`
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	CreatedAt time.Time `json:"created_at"`
}

// Scope limits a list to what the users of some clients may see. The
// zero Scope limits nothing.
type Scope struct {
	// Limited, when set, keeps only what belongs to Clients: with no
	// clients, no site, task, client or user, and only the platforms open
	// to every client.
	Limited bool
	Clients []string
}

// ListFilter selects one page of a list; Query matches a substring of the
// name.
type ListFilter struct {
	Query   string
	Page    int // from 1
	PerPage int
	// Scope keeps, for platforms, those open to one of its clients (or to
	// every client); for clients, its clients; for users, the members of
	// one of its clients. Servers ignore it.
	Scope Scope
}

// SiteFilter selects one page of sites; empty fields match every site.
type SiteFilter struct {
	Query    string // substring of the name
	Platform string
	Client   string
	Status   string
	Page     int
	PerPage  int
	// Scope keeps the sites of its clients.
	Scope Scope
}

// TaskFilter selects one page of tasks, newest first.
type TaskFilter struct {
	Status  string
	Object  string
	Type    string
	Page    int
	PerPage int
	// ObjectTypes, when not empty, keeps the tasks on objects of these
	// types.
	ObjectTypes []ContextType
	// Scope keeps the tasks on the sites of its clients (sites with a
	// record of that client now).
	Scope Scope
}

// Paginate turns a 1-based page and a page size into LIMIT and OFFSET:
// missing values take their defaults and the size is at most MaxPerPage.
func Paginate(page, perPage int) (limit, offset int) {
	if perPage <= 0 {
		perPage = DefaultPerPage
	}
	perPage = min(perPage, MaxPerPage)
	if page < 1 {
		page = 1
	}
	return perPage, (page - 1) * perPage
}

// HashToken returns the hex SHA-256 of a token secret, as stored.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// ServerStore keeps server records.
type ServerStore interface {
	// CreateServer adds a server; its name must be free among servers,
	// platforms and sites (ECONFLICT).
	CreateServer(ctx context.Context, r *ServerRecord) error
	// GetServer returns a server, or ENOTFOUND.
	GetServer(ctx context.Context, name string) (*ServerRecord, error)
	// UpdateServer replaces a server's record (all but CreatedAt).
	UpdateServer(ctx context.Context, r *ServerRecord) error
	// DeleteServer removes a server. A server still used by a platform or
	// a site that is not deleted is an ECONFLICT; deleted sites' records
	// that name it are removed with it.
	DeleteServer(ctx context.Context, name string) error
	// ListServers returns one page of servers by name and the total count.
	ListServers(ctx context.Context, f ListFilter) ([]*ServerRecord, int, error)
}

// PlatformStore keeps platform records and their packages.
type PlatformStore interface {
	// CreatePlatform adds a platform; its web server must exist and its
	// name must be free among servers, platforms and sites.
	CreatePlatform(ctx context.Context, r *PlatformRecord) error
	// GetPlatform returns a platform, or ENOTFOUND.
	GetPlatform(ctx context.Context, name string) (*PlatformRecord, error)
	// UpdatePlatform replaces a platform's record (all but CreatedAt).
	UpdatePlatform(ctx context.Context, r *PlatformRecord) error
	// DeletePlatform removes a platform and its packages. A platform with
	// sites that are not deleted is an ECONFLICT; deleted sites' records
	// are removed with it.
	DeletePlatform(ctx context.Context, name string) error
	// ListPlatforms returns one page of platforms by name and the total.
	ListPlatforms(ctx context.Context, f ListFilter) ([]*PlatformRecord, int, error)
	// SetPlatformPackages replaces the platform's package list.
	SetPlatformPackages(ctx context.Context, platform string, pkgs []Package) error
	// PlatformPackages returns the platform's packages in the order set.
	PlatformPackages(ctx context.Context, platform string) ([]Package, error)
}

// SiteStore keeps site records, their aliases and packages. A uri is
// unique across the uris and aliases of every site that is not deleted.
type SiteStore interface {
	// CreateSite adds a site. Its platform, db server and client must
	// exist (EINVALID naming the field). A name or alias used by another
	// site is an ECONFLICT naming it; the record of a deleted site of the
	// same name is replaced.
	CreateSite(ctx context.Context, r *SiteRecord) error
	// GetSite returns a site, or ENOTFOUND.
	GetSite(ctx context.Context, name string) (*SiteRecord, error)
	// UpdateSite replaces a site's record (all but CreatedAt), with the
	// same checks as CreateSite; on error the old record is intact.
	UpdateSite(ctx context.Context, r *SiteRecord) error
	// DeleteSite removes a site's record, aliases and packages. Its
	// backups and tasks stay.
	DeleteSite(ctx context.Context, name string) error
	// ListSites returns one page of sites by name and the total count.
	ListSites(ctx context.Context, f SiteFilter) ([]*SiteRecord, int, error)
	// SetSitePackages replaces the site's package list.
	SetSitePackages(ctx context.Context, site string, pkgs []Package) error
	// SitePackages returns the site's packages in the order set.
	SitePackages(ctx context.Context, site string) ([]Package, error)
}

// ClientStore keeps clients.
type ClientStore interface {
	// CreateClient adds a client, or returns ECONFLICT.
	CreateClient(ctx context.Context, c *Client) error
	// GetClient returns a client, or ENOTFOUND.
	GetClient(ctx context.Context, name string) (*Client, error)
	// UpdateClient replaces a client's title and email.
	UpdateClient(ctx context.Context, c *Client) error
	// DeleteClient removes a client and its memberships. A client that
	// owns sites that are not deleted is an ECONFLICT.
	DeleteClient(ctx context.Context, name string) error
	// ListClients returns one page of clients by name and the total.
	ListClients(ctx context.Context, f ListFilter) ([]*Client, int, error)
}

// UserStore keeps users and their API tokens.
type UserStore interface {
	// CreateUser adds a user and sets its ID; a taken name is ECONFLICT.
	CreateUser(ctx context.Context, u *User) error
	// GetUser returns a user, or ENOTFOUND.
	GetUser(ctx context.Context, id int64) (*User, error)
	// GetUserByName returns a user, or ENOTFOUND.
	GetUserByName(ctx context.Context, name string) (*User, error)
	// UpdateUser replaces a user's record (all but ID and CreatedAt).
	UpdateUser(ctx context.Context, u *User) error
	// DeleteUser removes a user and its tokens.
	DeleteUser(ctx context.Context, id int64) error
	// ListUsers returns one page of users by name and the total.
	ListUsers(ctx context.Context, f ListFilter) ([]*User, int, error)

	// CreateToken adds a token and sets its ID; a hash in use is ECONFLICT.
	CreateToken(ctx context.Context, t *Token) error
	// FindToken returns the token that is not revoked with that hash, or
	// ENOTFOUND, and records its use (at most once a minute). Callers
	// still check that the token's user is not disabled.
	FindToken(ctx context.Context, hash string) (*Token, error)
	// RevokeToken revokes a token; revoking it again changes nothing.
	RevokeToken(ctx context.Context, id int64) error
	// ListTokens returns the tokens of a user (all users when userID is
	// 0), revoked ones included, newest first.
	ListTokens(ctx context.Context, userID int64) ([]*Token, error)
}

// BackupStore keeps the records of site backups.
type BackupStore interface {
	// AddBackup records a backup and sets its ID; a zero CreatedAt is now.
	AddBackup(ctx context.Context, b *Backup) error
	// GetBackup returns a backup, or ENOTFOUND.
	GetBackup(ctx context.Context, id int64) (*Backup, error)
	// ListBackups returns the backups of a site, newest first.
	ListBackups(ctx context.Context, site string) ([]*Backup, error)
	// DeleteBackup removes a backup's record, or returns ENOTFOUND.
	DeleteBackup(ctx context.Context, id int64) error
}

// TaskQueue is the durable task queue the dispatchers share.
//
// A queued task is runnable when no task on its object is processing, no
// older task on its object is queued, and its platform allows it: a
// processing or older queued Exclusive task on platform P holds back every
// task with Platform P, and an Exclusive task waits until every task with
// Platform P that is processing or older than it is done. So tasks of one
// object run in creation order, and a platform-wide task is a barrier
// among its platform's tasks that neither starves nor is overtaken.
type TaskQueue interface {
	// EnqueueTask validates t, stores it queued (setting ID, Status and
	// CreatedAt) and notifies listeners.
	EnqueueTask(ctx context.Context, t *Task) error
	// ClaimTask atomically marks the oldest runnable task processing for
	// worker (a name that is stable across restarts, such as
	// "host/slot", so FailOrphanedTasks finds its tasks after a crash) and
	// returns it, or returns (nil, nil) when none is runnable.
	ClaimTask(ctx context.Context, worker string) (*Task, error)
	// GetTask returns a task, or ENOTFOUND.
	GetTask(ctx context.Context, id int64) (*Task, error)
	// ListTasks returns one page of tasks, newest first, and the total.
	ListTasks(ctx context.Context, f TaskFilter) ([]*Task, int, error)
	// AppendTaskLog adds entries to a task's log, numbering them on.
	AppendTaskLog(ctx context.Context, id int64, entries ...LogEntry) error
	// TaskLog returns the task's log entries after seq afterSeq, in order.
	TaskLog(ctx context.Context, id int64, afterSeq int64) ([]TaskLogEntry, error)
	// FinishTask records the end of a processing task: status success,
	// warning or failed, and its result data. A task that is not
	// processing is an ECONFLICT. Listeners are notified.
	FinishTask(ctx context.Context, id int64, status string, data map[string]any) error
	// CancelTask cancels a queued task; any other status is ECONFLICT.
	CancelTask(ctx context.Context, id int64) error
	// RetryTask queues a new copy of a failed task and returns it; a task
	// that has not failed is ECONFLICT.
	RetryTask(ctx context.Context, id int64) (*Task, error)
	// Heartbeat records that the dispatcher worker (its name without the
	// "/N" of its tasks) is alive, at the store's time.
	Heartbeat(ctx context.Context, worker string) error
	// LapsedWorkers returns the workers whose last heartbeat is older than
	// ttl (by the store's clock) and that still hold processing tasks:
	// their process died, and their tasks are for another to fail.
	LapsedWorkers(ctx context.Context, ttl time.Duration) ([]string, error)
	// Workers returns every worker the store knows with its last heartbeat,
	// newest first.
	Workers(ctx context.Context) ([]WorkerRecord, error)
	// FailOrphanedTasks marks failed the tasks left processing by worker
	// (its exact name or "worker/..."; every worker when empty), adding
	// message to their logs as an error, and returns their ids.
	FailOrphanedTasks(ctx context.Context, worker, message string) ([]int64, error)
	// PruneTaskLogs deletes the log lines of tasks finished before
	// olderThan and returns how many lines went.
	PruneTaskLogs(ctx context.Context, olderThan time.Time) (int64, error)
	// PruneTasks deletes the tasks (and logs) finished before olderThan
	// and returns how many tasks went.
	PruneTasks(ctx context.Context, olderThan time.Time) (int64, error)
	// Notify wakes every listener, in this process and (on PostgreSQL) in
	// every other process sharing the store.
	Notify(ctx context.Context) error
	// Listen returns a channel that receives a value soon after each
	// notification (several may collapse into one) until ctx ends, when
	// it is closed.
	Listen(ctx context.Context) (<-chan struct{}, error)
}

// SessionStore keeps the web UI's sessions and the one-time login links.
// Session tokens and link secrets reach it hashed.
type SessionStore interface {
	// FindSession returns the data of a session that has not expired;
	// found is false for an unknown or expired one.
	FindSession(ctx context.Context, hash string) (data []byte, found bool, err error)
	// CommitSession adds or replaces a session.
	CommitSession(ctx context.Context, hash string, data []byte, expiry time.Time) error
	// DeleteSession removes a session; an unknown one is no error.
	DeleteSession(ctx context.Context, hash string) error
	// PruneSessions deletes the sessions and login links that expired
	// before now and returns how many went.
	PruneSessions(ctx context.Context, now time.Time) (int64, error)

	// CreateLoginLink adds a one-time login link; a hash in use is an
	// ECONFLICT, a user that does not exist an EINVALID.
	CreateLoginLink(ctx context.Context, l *LoginLink) error
	// UseLoginLink removes the link with that hash and returns it, or
	// returns ENOTFOUND when there is none or it expired before now: a
	// link works once.
	UseLoginLink(ctx context.Context, hash string, now time.Time) (*LoginLink, error)
}

// AuditStore keeps the audit log of changes that are not tasks (a task
// records its own creator).
type AuditStore interface {
	// AddAudit records an entry and sets its ID; a zero Time is now.
	AddAudit(ctx context.Context, e *AuditEntry) error
	// ListAudit returns one page of entries, newest first, and the total.
	ListAudit(ctx context.Context, f AuditFilter) ([]*AuditEntry, int, error)
}

// StatsStore answers the dashboard's questions with aggregate queries.
type StatsStore interface {
	// DiskUsage returns, per server, the bytes of site files on it (as the
	// web server of their platform) and of site databases on it (as their
	// db server), counting the sites in scope that are not deleted; servers
	// without any are left out. Sorted by server name.
	DiskUsage(ctx context.Context, scope Scope) ([]DiskUsage, error)
	// TaskHistory returns, per hour since since (truncated to the hour),
	// how many tasks matching f's ObjectTypes and Scope finished, how
	// many of them failed, and their durations. Hours without tasks are
	// left out; oldest first.
	TaskHistory(ctx context.Context, since time.Time, f TaskFilter) ([]TaskHour, error)
}

// Store is everything the front end keeps. Every method is one
// transaction: the store never holds half a change.
type Store interface {
	ServerStore
	PlatformStore
	SiteStore
	ClientStore
	UserStore
	BackupStore
	TaskQueue
	SessionStore
	AuditStore
	StatsStore
	// Close releases the store's connections.
	Close() error
}

// StoreOpener opens the Store a database URL names.
type StoreOpener func(ctx context.Context, url string) (Store, error)

var storeDrivers registry[StoreOpener]

// RegisterStore registers the store driver of a database URL scheme
// ("sqlite", "postgres"); the store packages register themselves from init.
func RegisterStore(scheme string, open StoreOpener) {
	storeDrivers.register("store", scheme, 0, open)
}

// OpenStore opens the store that url names: postgres://..., sqlite:///path,
// or a bare file path, which is a SQLite database.
func OpenStore(ctx context.Context, url string) (Store, error) {
	scheme := "sqlite"
	if i := strings.Index(url, "://"); i > 0 {
		scheme = url[:i]
	}
	open, ok := storeDrivers.get(scheme)
	if !ok {
		return nil, FieldErrorf("database", "no store driver for %q (have %v)", scheme, storeDrivers.names())
	}
	return open(ctx, url)
}

// Context returns the server's named context.
func (r *ServerRecord) Context() *Context {
	s := r.Server
	s.HTTPTestCmd = slices.Clone(s.HTTPTestCmd)
	s.HTTPRestartCmd = slices.Clone(s.HTTPRestartCmd)
	return &Context{Name: r.Name, Type: ServerContext, Server: &s}
}

// Context returns the platform's named context.
func (r *PlatformRecord) Context() *Context {
	p := r.Platform
	return &Context{Name: r.Name, Type: PlatformContext, Platform: &p}
}

// Context returns the site's named context.
func (r *SiteRecord) Context() *Context {
	s := r.Site
	s.Aliases = slices.Clone(s.Aliases)
	return &Context{Name: r.Name, Type: SiteContext, Site: &s}
}

// Validate reports the first invalid field of a server record.
func (r *ServerRecord) Validate() error {
	if err := ValidateName("name", r.Name); err != nil {
		return err
	}
	if err := validateStatus(r.Status); err != nil {
		return err
	}
	return r.Server.Validate()
}

// Validate reports the first invalid field of a platform record.
func (r *PlatformRecord) Validate() error {
	if err := ValidateName("name", r.Name); err != nil {
		return err
	}
	if err := validateStatus(r.Status); err != nil {
		return err
	}
	if r.Platform.WebServer != "" {
		if err := ValidateName("web_server", ContextName(r.Platform.WebServer)); err != nil {
			return err
		}
	}
	if err := validateClients(r.Clients); err != nil {
		return err
	}
	if len(r.App) > 64 {
		return FieldErrorf("app", "is longer than 64 characters")
	}
	if len(r.Version) > 64 {
		return FieldErrorf("version", "is longer than 64 characters")
	}
	return r.Platform.Validate()
}

// Validate reports the first invalid field of a site record.
func (r *SiteRecord) Validate() error {
	if err := ValidateURI("uri", r.Name); err != nil {
		return err
	}
	if r.Site.URI != r.Name {
		return FieldErrorf("uri", "%q must equal the site name %q", r.Site.URI, r.Name)
	}
	if err := ValidateName("platform", ContextName(r.Site.Platform)); err != nil {
		return err
	}
	if r.Site.DBServer != "" {
		if err := ValidateName("db_server", ContextName(r.Site.DBServer)); err != nil {
			return err
		}
	}
	if r.Client != "" && !clientNamePattern.MatchString(r.Client) {
		return FieldErrorf("client", "%q is not a client name", r.Client)
	}
	if err := validateStatus(r.Status); err != nil {
		return err
	}
	if r.DiskFiles < 0 {
		return FieldErrorf("disk_files", "must not be negative")
	}
	if r.DiskDB < 0 {
		return FieldErrorf("disk_db", "must not be negative")
	}
	seen := map[string]bool{}
	for _, a := range r.Site.Aliases {
		if seen[a] {
			return FieldErrorf("aliases", "%q is listed twice", a)
		}
		seen[a] = true
	}
	return r.Site.Validate()
}

// Validate reports the first invalid field of a client.
func (c *Client) Validate() error {
	if !clientNamePattern.MatchString(c.Name) {
		return FieldErrorf("name", "%q must be 1 to 16 lowercase letters, digits, '_' or '-'", c.Name)
	}
	if len(c.Title) > 255 {
		return FieldErrorf("title", "is longer than 255 characters")
	}
	if c.Email != "" && !emailPattern.MatchString(c.Email) {
		return FieldErrorf("email", "%q is not an email address", c.Email)
	}
	return nil
}

// Validate reports the first invalid field of a user.
func (u *User) Validate() error {
	if !userNamePattern.MatchString(u.Name) {
		return FieldErrorf("name", "%q must be 1 to 64 lowercase letters, digits, '_', '.', '@' or '-'", u.Name)
	}
	if u.Email != "" && !emailPattern.MatchString(u.Email) {
		return FieldErrorf("email", "%q is not an email address", u.Email)
	}
	roles := []string{RoleAdministrator, RolePlatformManager, RoleAccountManager, RoleClient}
	if !slices.Contains(roles, u.Role) {
		return FieldErrorf("role", "%q is not one of %s", u.Role, strings.Join(roles, ", "))
	}
	if len(u.PasswordHash) > 512 {
		return FieldErrorf("password", "hash is longer than 512 characters")
	}
	return validateClients(u.Clients)
}

// Validate reports the first invalid field of a token.
func (t *Token) Validate() error {
	if t.UserID <= 0 {
		return FieldErrorf("user_id", "is required")
	}
	if t.Name == "" || len(t.Name) > 64 {
		return FieldErrorf("name", "must be 1 to 64 characters")
	}
	if !sha256Pattern.MatchString(t.Hash) {
		return FieldErrorf("hash", "must be a hex SHA-256")
	}
	return nil
}

// Validate reports the first invalid field of a login link.
func (l *LoginLink) Validate() error {
	if l.UserID <= 0 {
		return FieldErrorf("user_id", "is required")
	}
	if !sha256Pattern.MatchString(l.Hash) {
		return FieldErrorf("hash", "must be a hex SHA-256")
	}
	if l.ExpiresAt.IsZero() {
		return FieldErrorf("expires_at", "is required")
	}
	return nil
}

// Validate reports the first invalid field of an audit entry.
func (e *AuditEntry) Validate() error {
	if len(e.Actor) > 64 {
		return FieldErrorf("actor", "is longer than 64 characters")
	}
	if e.Action == "" || len(e.Action) > 64 {
		return FieldErrorf("action", "must be 1 to 64 characters")
	}
	if len(e.Object) > 255 {
		return FieldErrorf("object", "is longer than 255 characters")
	}
	if len(e.Detail) > 4096 {
		return FieldErrorf("detail", "is longer than 4096 characters")
	}
	if len(e.Address) > 64 {
		return FieldErrorf("address", "is longer than 64 characters")
	}
	return nil
}

// Validate reports the first invalid field of a backup.
func (b *Backup) Validate() error {
	if err := ValidateURI("site", b.Site); err != nil {
		return err
	}
	if !isAbs(b.File) {
		return FieldErrorf("file", "%q must be an absolute path", b.File)
	}
	if b.Size < 0 {
		return FieldErrorf("size", "must not be negative")
	}
	if b.SHA256 != "" && !sha256Pattern.MatchString(b.SHA256) {
		return FieldErrorf("sha256", "must be a hex SHA-256")
	}
	return nil
}

// Validate reports the first invalid field of a task to enqueue.
func (t *Task) Validate() error {
	if !taskTypePattern.MatchString(t.Type) {
		return FieldErrorf("type", "%q is not a task type", t.Type)
	}
	switch t.ObjectType {
	case ServerContext, PlatformContext, SiteContext:
	default:
		return FieldErrorf("object_type", "%q is not one of server, platform, site", t.ObjectType)
	}
	if err := ValidateName("object", t.Object); err != nil {
		return err
	}
	if t.Platform != "" {
		if err := ValidateName("platform", t.Platform); err != nil {
			return err
		}
	}
	if t.ObjectType == PlatformContext && t.Platform != "" && t.Platform != t.Object {
		return FieldErrorf("platform", "%q must be the task's own platform %q", t.Platform, t.Object)
	}
	if t.Exclusive && t.Platform == "" {
		return FieldErrorf("platform", "is required for a platform-wide task")
	}
	for k := range t.Args {
		if !argNamePattern.MatchString(k) {
			return FieldErrorf("args", "%q is not an argument name", k)
		}
	}
	if len(t.Creator) > 64 {
		return FieldErrorf("creator", "is longer than 64 characters")
	}
	return nil
}

// WorkerRecord is a dispatcher sharing the queue and its last heartbeat.
type WorkerRecord struct {
	Name   string    `json:"name"`
	SeenAt time.Time `json:"seen_at"`
}

// ValidateWorker reports whether worker can claim tasks.
func ValidateWorker(worker string) error {
	if worker == "" || len(worker) > 128 {
		return FieldErrorf("worker", "must be 1 to 128 characters")
	}
	return nil
}

// ValidateTaskResult reports whether status can end a task.
func ValidateTaskResult(status string) error {
	if !slices.Contains([]string{StatusSuccess, StatusWarning, StatusFailed}, status) {
		return FieldErrorf("status", "%q is not one of success, warning, failed", status)
	}
	return nil
}

func validateStatus(s string) error {
	if !statusPattern.MatchString(s) {
		return FieldErrorf("status", "%q is not a status", s)
	}
	return nil
}

func validateClients(names []string) error {
	for _, c := range names {
		if !clientNamePattern.MatchString(c) {
			return FieldErrorf("clients", "%q is not a client name", c)
		}
	}
	return nil
}

// MarshalProps encodes the properties of a server, platform or site (a
// pointer to the struct) as a JSON object keyed by the context property
// names, every property present.
func MarshalProps(props any) ([]byte, error) {
	v, err := propsValue(props)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v.Convert(propsJSONType(v.Type())).Interface())
}

// UnmarshalProps decodes a JSON object made by MarshalProps (or written by
// a user with the same names) into props, a pointer to the struct. An
// unknown property is an EINVALID error.
func UnmarshalProps(data []byte, props any) error {
	v, err := propsValue(props)
	if err != nil {
		return err
	}
	p := reflect.New(propsJSONType(v.Type()))
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p.Interface()); err != nil {
		return Errorf(EINVALID, "properties: %v", err)
	}
	v.Set(p.Elem().Convert(v.Type()))
	return nil
}

func propsValue(props any) (reflect.Value, error) {
	v := reflect.ValueOf(props)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, fmt.Errorf("props: %T is not a pointer to a struct", props)
	}
	return v.Elem(), nil
}

// propsJSONType is t with json tags naming each field as its yaml tag
// does; a value converts between the two types since only tags differ.
func propsJSONType(t reflect.Type) reflect.Type {
	fields := make([]reflect.StructField, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[i] = reflect.StructField{Name: f.Name, Type: f.Type, Tag: reflect.StructTag(`json:"` + name + `"`)}
	}
	return reflect.StructOf(fields)
}

// RetiredSuffix is what the store appends to the name of a deleted site in
// its backups and tasks when it drops the site's record (a new site takes
// the name, or its platform, server or client goes): "~" is in no valid
// name, so no later site inherits them.
func RetiredSuffix(t time.Time) string {
	return fmt.Sprintf("~deleted-%d", t.UnixNano())
}
