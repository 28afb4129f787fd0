package aegir

import (
	"bytes"
	"encoding/json"
	"reflect"
	"time"
)

// A task's result is a Go type of its own, named by its catalog row
// (TaskType.Result): the facts it reports beyond its status and log. The
// types are made of the parts below, which steps shared by several tasks
// fill (PartOf) and the front end records, whichever task carried them.
// A task whose type lacks a part does not report that fact: a server
// verify renews certificates but reports none.

// SiteFacts says which site a site task ran on.
type SiteFacts struct {
	URI      string `json:"uri,omitempty"`
	App      string `json:"app,omitempty"`
	Version  string `json:"version,omitempty"`
	Platform string `json:"platform,omitempty"`
	URL      string `json:"url,omitempty"`
	DBName   string `json:"db_name,omitempty"`
}

// BackupMade is the backup a task wrote: the backup task's own, or the
// safety backup of a restore, migrate, clone, delete or update-db, which
// stays on disk.
type BackupMade struct {
	File   string `json:"backup_file,omitempty"`
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
}

// Archive returns the backup as the archiver described it, or nil when
// the task made none.
func (b *BackupMade) Archive() *ArchiveInfo {
	if b == nil || b.File == "" {
		return nil
	}
	return &ArchiveInfo{Path: b.File, Size: b.Size, SHA256: b.SHA256}
}

// PackagesFound are the packages a verify, install, import or deploy read
// off the codebase; nil when the task did not get that far.
type PackagesFound struct {
	Packages []Package `json:"packages,omitempty"`
}

// LoginLinkMade is a one-time admin login link.
type LoginLinkMade struct {
	LoginLink string `json:"login_link,omitempty"`
}

// CertificateUsed is the certificate a task gave the site.
type CertificateUsed struct {
	Certificate *CertificateFacts `json:"certificate,omitempty"`
}

// CertificateFacts describe a certificate without its key.
type CertificateFacts struct {
	Name     string   `json:"name"`
	Provider string   `json:"provider"`
	Domains  []string `json:"domains"`
	Serial   string   `json:"serial"`
	NotAfter string   `json:"not_after"` // RFC 3339, UTC
}

// PackagesChecked compares the packages a site uses with those of the
// platform it goes to.
type PackagesChecked struct {
	PackageReport []PackageReport `json:"package_report,omitempty"`
}

// SiteResult is the result of a site task that reports only which site it
// ran on: disable, enable, cron, flush-cache.
type SiteResult struct {
	SiteFacts
}

// SiteVerifyResult is the result of a site's verify.
type SiteVerifyResult struct {
	SiteFacts
	CertificateUsed
	PackagesFound
}

// InstallResult is the result of install.
type InstallResult struct {
	SiteFacts
	CertificateUsed
	PackagesFound
	LoginLinkMade
}

// OffsiteMade is the off-site copy of a backup: its snapshot in the
// off-site target, what the upload added there (after deduplication), and
// the snapshots retention removed after it.
type OffsiteMade struct {
	Target    string   `json:"offsite_target,omitempty"`
	Snapshot  string   `json:"offsite_snapshot,omitempty"`
	Added     int64    `json:"offsite_added,omitempty"`
	Forgotten []string `json:"offsite_forgotten,omitempty"`
	// Error is why the upload or the retention failed (the task failed
	// too, its local backup kept); the front end counts these.
	Error string `json:"offsite_error,omitempty"`
}

// BackupResult is the result of backup.
type BackupResult struct {
	SiteFacts
	BackupMade
	OffsiteMade
}

// BackupDeleteResult is the result of backup-delete: the files it was
// asked to delete, as given.
type BackupDeleteResult struct {
	SiteFacts
	Deleted []string `json:"deleted,omitempty"`
}

// BackupVerified is the backup a backup-verify restored into a scratch
// database and directory and booted the app on, and when it did.
type BackupVerified struct {
	VerifiedFile string    `json:"verified_file,omitempty"`
	VerifiedAt   time.Time `json:"verified_at,omitzero"`
}

// BackupVerifyResult is the result of backup-verify.
type BackupVerifyResult struct {
	SiteFacts
	BackupVerified
}

// DeployResult is the result of restore and deploy: the safety backup,
// the package check and what the site is then.
type DeployResult struct {
	SiteFacts
	BackupMade
	PackagesChecked
	CertificateUsed
	PackagesFound
}

// MoveResult is the result of migrate and clone: a deploy's, and the new
// site's name (a clone, or a migrate that renames).
type MoveResult struct {
	DeployResult
	NewURI string `json:"new_uri,omitempty"`
	// OldPlatform is where a migrate took the site from.
	OldPlatform string `json:"old_platform,omitempty"`
}

// DeployCodeResult is the result of deploy-code: the migrate's, and the
// platform built from the ref with the commit it holds.
type DeployCodeResult struct {
	MoveResult
	NewPlatform string `json:"new_platform,omitempty"`
	Commit      string `json:"commit,omitempty"`
}

// SyncResult is the result of sync: the site written into and the backup
// of it taken first (the target's, not the task's object's).
type SyncResult struct {
	SiteFacts
	Target       string `json:"target,omitempty"`
	TargetBackup string `json:"target_backup,omitempty"`
}

// SiteDeleteResult is the result of a site's delete: its safety backup.
type SiteDeleteResult struct {
	SiteFacts
	BackupMade
}

// ImportResult is the result of import.
type ImportResult struct {
	SiteFacts
	CertificateUsed
	PackagesFound
}

// LoginResetResult is the result of login-reset.
type LoginResetResult struct {
	SiteFacts
	LoginLinkMade
}

// UpdateDBResult is the result of update-db: the backup taken first.
type UpdateDBResult struct {
	SiteFacts
	BackupMade
}

// ServerVerifyResult is the result of a server's verify.
type ServerVerifyResult struct {
	HTTPServiceType string `json:"http_service_type,omitempty"`
	DBServiceType   string `json:"db_service_type,omitempty"`
}

// PlatformVerifyResult is the result of a platform's verify: what the
// codebase is, and the sites found in it.
type PlatformVerifyResult struct {
	App     string `json:"app,omitempty"`
	Version string `json:"version,omitempty"`
	Root    string `json:"root,omitempty"`
	PackagesFound
	Sites []string `json:"sites,omitempty"`
}

// MigratePlatformResult is the result of a batch migrate.
type MigratePlatformResult struct {
	Sites    []SiteOutcome `json:"sites"`
	Migrated int           `json:"migrated"`
	Failed   int           `json:"failed"`
}

// PartOf returns the part P of a task result (a pointer to one of the
// types above), found among its embedded fields at any depth, or nil when
// the result has no such part.
func PartOf[P any](result any) *P {
	if p, ok := result.(*P); ok {
		return p
	}
	v := reflect.ValueOf(result)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	return partOf[P](v.Elem())
}

func partOf[P any](v reflect.Value) *P {
	want := reflect.TypeFor[P]()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.Anonymous || f.Type.Kind() != reflect.Struct {
			continue
		}
		if f.Type == want {
			return v.Field(i).Addr().Interface().(*P)
		}
		if p := partOf[P](v.Field(i)); p != nil {
			return p
		}
	}
	return nil
}

// ResultData is a result as the front end stores and shows it: its JSON
// object, numbers kept exact. Nil when the task reported nothing.
func ResultData(result any) (map[string]any, error) {
	if result == nil || (reflect.ValueOf(result).Kind() == reflect.Pointer && reflect.ValueOf(result).IsNil()) {
		return nil, nil
	}
	b, err := json.Marshal(result)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var data map[string]any
	if err := dec.Decode(&data); err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, nil
	}
	return data, nil
}
