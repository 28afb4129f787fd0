package hosting

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aegir-hosting/aegir"
	"golang.org/x/crypto/argon2"
)

// Argon2Params are the cost parameters of argon2id password hashes.
type Argon2Params struct {
	Time    uint32 // passes over the memory
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultArgon2 is RFC 9106's second recommended option (64 MiB, three
// passes), for machines without the memory for the first.
var DefaultArgon2 = Argon2Params{Time: 3, Memory: 64 * 1024, Threads: 4}

// Password length bounds: long enough to resist guessing, short enough
// that hashing one costs what it should.
const (
	MinPassword = 10
	MaxPassword = 256
)

const (
	saltLen = 16
	keyLen  = 32
)

// maxArgon2Memory bounds the memory a stored hash may ask for (1 GiB), so
// that a hash written by hand cannot exhaust the machine.
const maxArgon2Memory = 1024 * 1024

// CheckPasswordRules returns an EINVALID error naming field when a new
// password is too short or too long.
func CheckPasswordRules(field, password string) error {
	n := utf8.RuneCountInString(password)
	if n < MinPassword {
		return aegir.FieldErrorf(field, "must be at least %d characters", MinPassword)
	}
	if len(password) > MaxPassword {
		return aegir.FieldErrorf(field, "must be at most %d bytes", MaxPassword)
	}
	return nil
}

// HashPassword returns the argon2id hash of a password in the PHC string
// format: $argon2id$v=19$m=65536,t=3,p=4$SALT$KEY (unpadded base64).
func HashPassword(password string, p Argon2Params) string {
	salt := make([]byte, saltLen)
	rand.Read(salt) // never fails: crypto/rand aborts the process instead
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// VerifyPassword reports whether password matches an encoded argon2id
// hash, comparing in constant time. A malformed hash (or none: a user
// without a password) matches nothing.
func VerifyPassword(password, encoded string) bool {
	p, salt, key, ok := parseHash(encoded)
	if !ok || len(password) > MaxPassword {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}

// parseHash reads a PHC argon2id string.
func parseHash(encoded string) (p Argon2Params, salt, key []byte, ok bool) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, false
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, false
	}
	if p.Time < 1 || p.Time > 100 || p.Memory < 8*uint32(p.Threads) || p.Memory > maxArgon2Memory || p.Threads < 1 {
		return p, nil, nil, false
	}
	b64 := base64.RawStdEncoding
	var err error
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, false
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, false
	}
	return p, salt, key, true
}
