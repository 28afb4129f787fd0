package aegir

import (
	"context"
	"io"
)

// ArchiveInfo describes a backup archive once written.
type ArchiveInfo struct {
	Path   string `json:"file"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Archiver writes and reads site backups: one compressed tarball of the
// site directory (with its database dump inside), laid out as Aegir 3 does.
type Archiver interface {
	// Create streams dir into a new archive at path, whose name picks the
	// compression, and writes path.sha256 beside it. A failed Create leaves
	// no file behind.
	Create(ctx context.Context, path, dir string) (*ArchiveInfo, error)
	// Extract unpacks the archive at path into dest, which must not exist.
	// An archive with an entry that would land outside dest is refused
	// before anything is written.
	Extract(ctx context.Context, path, dest string) error
	// Delete removes an archive and its checksum file.
	Delete(path string) error
}

// StreamExtractor is an Archiver that can hand one file of an archive to a
// consumer while it unpacks the others, so a restore imports the database
// dump while the files are still being written.
type StreamExtractor interface {
	// ExtractStream unpacks the archive at path into dest, which must not
	// exist, in one pass, and calls consume in a goroutine of its own with
	// the content of the regular file name (relative to dest) as it is
	// written. It returns once both are done, with the first error, and
	// whether consume was called (not when there is no such file). Each
	// entry is checked before it is written and nothing is ever written
	// outside dest; on any error dest is removed.
	ExtractStream(ctx context.Context, path, dest, name string, consume func(ctx context.Context, r io.Reader) error) (bool, error)
}

// QuickArchiver is an Archiver that can also write an archive at its
// compressor's fastest level, for a backup taken in the course of another
// task (a restore's safety backup, a migrate's), where the task's time
// counts for more than a few percent of size.
type QuickArchiver interface {
	// CreateQuick is Create at the fastest level.
	CreateQuick(ctx context.Context, path, dir string) (*ArchiveInfo, error)
}

// Graft is a directory stored in an archive under a name inside the
// archived directory: a site's private directory outside the platform's
// root is archived as private/ inside its site directory, where backups
// made before it moved out hold it.
type Graft struct {
	Name string // a local name, such as "private"
	Dir  string
}

// GraftArchiver is an Archiver that can store other directories inside the
// one it archives.
type GraftArchiver interface {
	// CreateGrafted is Create (CreateQuick when quick) with each graft's
	// Dir stored as ./<Name>/; an entry of dir at a graft's Name is left
	// out, and so is a graft whose Dir does not exist.
	CreateGrafted(ctx context.Context, path, dir string, quick bool, grafts ...Graft) (*ArchiveInfo, error)
}
