package aegir

import "context"

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
