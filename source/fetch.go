package source

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// maxDownload bounds one fetched file (a tarball, a patch, an XML).
const maxDownload = 1 << 30

// fetched is a file a build read, with its checksums.
type fetched struct {
	path   string
	sha256 string
	md5    string
}

// fetch copies what u names (an absolute path, a file:// or an http(s)
// URL) into a new file in dir and returns it with its checksums.
func (b *Builder) fetch(ctx context.Context, u, dir string) (*fetched, error) {
	r, err := b.open(ctx, u)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	f, err := os.CreateTemp(dir, "fetch-*")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	hs, hm := sha256.New(), md5.New()
	n, err := io.Copy(io.MultiWriter(f, hs, hm), io.LimitReader(r, maxDownload+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	if n > maxDownload {
		return nil, aegir.Errorf(aegir.EINVALID, "fetch %s: larger than %d bytes", u, maxDownload)
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return &fetched{path: f.Name(), sha256: hex.EncodeToString(hs.Sum(nil)), md5: hex.EncodeToString(hm.Sum(nil))}, nil
}

// check compares f's checksums with those wanted (each may be empty).
func (f *fetched) check(what, md5sum, sha string) error {
	if md5sum != "" && md5sum != f.md5 {
		return aegir.Errorf(aegir.EINVALID, "%s: checksum mismatch: md5 is %s, expected %s", what, f.md5, md5sum)
	}
	if sha != "" && sha != f.sha256 {
		return aegir.Errorf(aegir.EINVALID, "%s: checksum mismatch: sha256 is %s, expected %s", what, f.sha256, sha)
	}
	return nil
}

// open opens a path or URL for reading.
func (b *Builder) open(ctx context.Context, u string) (io.ReadCloser, error) {
	if err := aegir.ValidateFetchURL("url", u); err != nil {
		return nil, err
	}
	if p, ok := localPath(u); ok {
		f, err := os.Open(p)
		if err != nil {
			return nil, aegir.Errorf(aegir.EINVALID, "fetch %s: %v", u, err)
		}
		return f, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	client := b.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, aegir.Errorf(aegir.EINVALID, "fetch %s: %v", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, aegir.Errorf(aegir.EINVALID, "fetch %s: %s", u, resp.Status)
	}
	return resp.Body, nil
}

// readSmall reads a small file (a make file, a release XML) whole.
func (b *Builder) readSmall(ctx context.Context, u string) ([]byte, error) {
	r, err := b.open(ctx, u)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	return data, nil
}

// localPath is the file a path or file:// URL names.
func localPath(u string) (string, bool) {
	if strings.HasPrefix(u, "/") {
		return u, true
	}
	if pu, err := url.Parse(u); err == nil && pu.Scheme == "file" {
		return pu.Path, true
	}
	return "", false
}

// resolveRef resolves ref (an include, a relative patch) against base, the
// make file's own path or URL.
func resolveRef(base, ref string) string {
	if strings.Contains(ref, "://") || strings.HasPrefix(ref, "/") {
		return ref
	}
	if strings.HasPrefix(base, "/") {
		return base[:strings.LastIndex(base, "/")+1] + ref
	}
	bu, err := url.Parse(base)
	if err != nil {
		return ref
	}
	ru, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	return bu.ResolveReference(ru).String()
}
