package aegir

import (
	"context"
	"strings"
	"time"
)

// The Store interface of the front end, which the sqlite and postgres
// packages implement; storetest holds the conformance suite both pass.

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
	Health   string // HealthUp, HealthDown
	// Live leaves out the records of deleted sites (their tombstones).
	Live    bool
	Page    int
	PerPage int
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
	// UpdateClient replaces a client's title, email and quotas.
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
	// SetBackupVerified records that the backup of site at file was proven
	// restorable at at, or returns ENOTFOUND.
	SetBackupVerified(ctx context.Context, site, file string, at time.Time) error
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
	// SiteCounts counts the sites in scope by status, those that are not
	// deleted, and the enabled ones whose last health check found them
	// down.
	SiteCounts(ctx context.Context, scope Scope) (SiteCounts, error)
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
	AlertStore
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
