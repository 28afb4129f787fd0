package aegir

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// This file holds the front end's records and their validation; store.go
// the Store interface the sqlite and postgres packages implement.

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
	// Health is the last health check; UpdateSite leaves it as it is
	// (SetSiteHealth writes it).
	Health    SiteHealth
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Client owns sites; users act for clients.
type Client struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	Email string `json:"email"`
	// Quotas: at most QuotaSites sites and QuotaDisk bytes (files and
	// databases) of them; 0 is no limit. Only administrators set them.
	QuotaSites int       `json:"quota_sites"`
	QuotaDisk  int64     `json:"quota_disk"`
	CreatedAt  time.Time `json:"created_at"`
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

// SiteCounts are the dashboard's counts of sites.
type SiteCounts struct {
	ByStatus map[string]int // by the front end's status ("" is not installed)
	Live     int            // sites that are not deleted
	Down     int            // enabled sites found down
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
	// VerifiedAt is when a backup-verify last proved the backup
	// restorable; nil when none has.
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
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
	if c.QuotaSites < 0 {
		return FieldErrorf("quota_sites", "%d is negative (0 is no limit)", c.QuotaSites)
	}
	if c.QuotaDisk < 0 {
		return FieldErrorf("quota_disk", "%d is negative (0 is no limit)", c.QuotaDisk)
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

// DefaultLeaseTTL is how long a dispatcher may go without a heartbeat
// before another one sharing the queue fails the tasks it holds: a
// dispatcher beats every quarter of it, so a dead one's tasks are recovered
// within about one and a quarter of it. It is the domain's because the
// dispatchers and the UI, which shows whose lease lapsed, must agree on it.
const DefaultLeaseTTL = 20 * time.Second

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

// RetiredSuffix is what the store appends to the name of a deleted site in
// its backups and tasks when it drops the site's record (a new site takes
// the name, or its platform, server or client goes): "~" is in no valid
// name, so no later site inherits them.
func RetiredSuffix(t time.Time) string {
	return fmt.Sprintf("~deleted-%d", t.UnixNano())
}

// HashToken returns the hex SHA-256 of a token secret, as stored.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
