package aegir

import (
	"context"
	"regexp"
	"time"
)

// Snapshot is one off-site copy: what a site backup (or a platform's code)
// uploaded, as the off-site repository names it.
type Snapshot struct {
	ID    string    `json:"id"`
	Time  time.Time `json:"time"`
	Paths []string  `json:"paths,omitempty"`
	Tags  []string  `json:"tags,omitempty"`
	// Added is what the upload of this snapshot added to the repository
	// (after deduplication and compression); zero when not known.
	Added int64 `json:"added,omitempty"`
	// Size is the size of the files the snapshot holds; zero when not
	// known.
	Size int64 `json:"size,omitempty"`
}

// Tag returns the value of the snapshot's tag key=value, or "".
func (s *Snapshot) Tag(key string) string {
	for _, t := range s.Tags {
		if len(t) > len(key) && t[:len(key)] == key && t[len(key)] == '=' {
			return t[len(key)+1:]
		}
	}
	return ""
}

// Keep is a retention policy of off-site snapshots, in the words of local
// backups' (keep the newest of each of the last N days, weeks, months).
// The newest snapshot is always kept.
type Keep struct {
	Daily   int `yaml:"keep_daily" json:"keep_daily"`
	Weekly  int `yaml:"keep_weekly" json:"keep_weekly"`
	Monthly int `yaml:"keep_monthly" json:"keep_monthly"`
}

// Offsite is an encrypted, deduplicated off-site repository of backups
// (restic's, in restic/). Every method names the target in its errors.
type Offsite interface {
	// Target is the repository's address, with no credentials in it.
	Target() string
	// Keep is the retention the operator set for each site's snapshots.
	Keep() Keep
	// Init creates the repository.
	Init(ctx context.Context) error
	// Backup uploads paths (directories or files) as one snapshot with
	// tags (key=value), excluding the exclude patterns.
	Backup(ctx context.Context, paths, exclude, tags []string) (*Snapshot, error)
	// Snapshots lists the snapshots that have every one of tags, oldest
	// first.
	Snapshots(ctx context.Context, tags []string) ([]Snapshot, error)
	// Forget removes the snapshots with tags that keep does not keep,
	// and the data only they used; it returns the IDs removed.
	Forget(ctx context.Context, tags []string, keep Keep) ([]string, error)
	// Restore writes the snapshot's files under dest, at their original
	// absolute paths below it.
	Restore(ctx context.Context, id, dest string) error
	// Check checks the repository's structure and data.
	Check(ctx context.Context) error
}

// snapshotID is an off-site snapshot's ID, whole or as restic shortens it.
var snapshotID = regexp.MustCompile(`^[0-9a-f]{8,64}$`)

// ValidateSnapshotID checks an off-site snapshot ID given in field.
func ValidateSnapshotID(field, id string) error {
	if !snapshotID.MatchString(id) {
		return FieldErrorf(field, "%q is not a snapshot ID (hexadecimal, 8 to 64 digits)", id)
	}
	return nil
}
