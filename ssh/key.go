package ssh

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"

	"github.com/aegir-hosting/aegir"
	xssh "golang.org/x/crypto/ssh"
)

// EnsureKey makes the master's key (file, 0600, and file.pub) when it is
// missing, in a 0700 directory, and returns its signer either way.
func EnsureKey(file string) (xssh.Signer, error) {
	if _, err := os.Stat(file); err == nil {
		return LoadKey(file)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, aegir.Errorf(aegir.EINTERNAL, "ssh key: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, aegir.Errorf(aegir.EINTERNAL, "ssh key: %v", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := xssh.MarshalPrivateKey(priv, "aegir")
	if err != nil {
		return nil, err
	}
	signer, err := xssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(file+".pub", xssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644); err != nil {
		return nil, aegir.Errorf(aegir.EINTERNAL, "ssh key: %v", err)
	}
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, aegir.Errorf(aegir.EINTERNAL, "ssh key: %v", err)
	}
	return signer, nil
}
