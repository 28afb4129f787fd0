package tarball

import (
	"context"
	"io"

	"github.com/aegir-hosting/aegir"
)

// Archiver is the aegir.Archiver the back end uses: Create, Extract and
// Delete of this package behind the domain interface.
type Archiver struct {
	// Options apply to every Extract.
	Options Options
}

// Create writes dir into a new archive at path; see the package function
// Create.
func (a *Archiver) Create(ctx context.Context, path, dir string) (*aegir.ArchiveInfo, error) {
	info, err := Create(ctx, path, dir)
	if err != nil {
		return nil, err
	}
	return &aegir.ArchiveInfo{Path: info.Path, Size: info.Size, SHA256: info.SHA256}, nil
}

// CreateQuick writes dir into a new archive at path at the compressor's
// fastest level; see the package function CreateQuick.
func (a *Archiver) CreateQuick(ctx context.Context, path, dir string) (*aegir.ArchiveInfo, error) {
	info, err := CreateQuick(ctx, path, dir)
	if err != nil {
		return nil, err
	}
	return &aegir.ArchiveInfo{Path: info.Path, Size: info.Size, SHA256: info.SHA256}, nil
}

// CreateGrafted writes dir, with the directory of each graft under its
// name, into a new archive at path; see the package function
// CreateGrafted.
func (a *Archiver) CreateGrafted(ctx context.Context, path, dir string, quick bool, grafts ...aegir.Graft) (*aegir.ArchiveInfo, error) {
	info, err := CreateGrafted(ctx, path, dir, quick, grafts...)
	if err != nil {
		return nil, err
	}
	return &aegir.ArchiveInfo{Path: info.Path, Size: info.Size, SHA256: info.SHA256}, nil
}

// Extract unpacks the archive at path into dest, which must not exist;
// see the package function Extract.
func (a *Archiver) Extract(ctx context.Context, path, dest string) error {
	return Extract(ctx, path, dest, a.Options)
}

// ExtractStream unpacks the archive at path into dest in one pass and
// hands the file name to consume as it is written; see the package
// function ExtractStream.
func (a *Archiver) ExtractStream(ctx context.Context, path, dest, name string, consume func(context.Context, io.Reader) error) (bool, error) {
	return ExtractStream(ctx, path, dest, a.Options, name, consume)
}

// Delete removes the archive at path and its .sha256 file.
func (a *Archiver) Delete(path string) error { return Delete(path) }

// Verify checks the archive at path against its .sha256 file, if any.
func (a *Archiver) Verify(path string) error { return Verify(path) }

var (
	_ aegir.Archiver        = (*Archiver)(nil)
	_ aegir.StreamExtractor = (*Archiver)(nil)
	_ aegir.QuickArchiver   = (*Archiver)(nil)
	_ aegir.GraftArchiver   = (*Archiver)(nil)
)
