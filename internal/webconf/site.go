package webconf

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/aegir-hosting/aegir"
)

// Write makes path hold data (with mode) through t, together with the
// changes other callers submit meanwhile, and returns the Undo that puts
// the file and its spare back as they were, submitted the same way. When
// the test fails, the undo leaves the file as the change left it and its
// error says why.
func Write(ctx context.Context, t Target, path string, data []byte, mode fs.FileMode) (aegir.Undo, error) {
	c := &Change{Path: path, Data: data, Mode: mode}
	if err := Submit(ctx, t, c); err != nil {
		return nil, err
	}
	return undoOf(t, c), nil
}

// Remove removes the file at path through t, as Write writes one, and
// returns the Undo that writes it back. A file that is not there (nor its
// directory) is not an error: it is logged, and the Undo is nil.
func Remove(ctx context.Context, t Target, path string) (aegir.Undo, error) {
	absent := func() (aegir.Undo, error) {
		t.Log.Infof("no %s to remove in %s", filepath.Base(path), filepath.Dir(path))
		return nil, nil
	}
	if _, err := os.Stat(filepath.Dir(path)); errors.Is(err, fs.ErrNotExist) {
		return absent()
	}
	c := &Change{Path: path}
	if err := Submit(ctx, t, c); err != nil {
		return nil, err
	}
	if c.Absent() {
		return absent()
	}
	return undoOf(t, c), nil
}

func undoOf(t Target, c *Change) aegir.Undo {
	return func(ctx context.Context) error { return Submit(ctx, t, c.Undo()) }
}
