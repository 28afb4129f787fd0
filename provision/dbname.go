package provision

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"
)

// maxDBName is Aegir's limit, which keeps the user name (the same string)
// within every MySQL version's user name length.
const maxDBName = 16

// DatabaseName derives a database name from a site URI as Aegir does: drop
// a leading "www.", remove dots and hyphens, keep at most 16 characters, and
// when suffix > 0 make room for it at the end.
func DatabaseName(uri string, suffix int) string {
	name := strings.TrimPrefix(uri, "www.")
	name = strings.NewReplacer(".", "", "-", "").Replace(name)
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		name = "site" + name
	}
	tail := ""
	if suffix > 0 {
		tail = fmt.Sprint(suffix)
	}
	if len(name) > maxDBName-len(tail) {
		name = name[:maxDBName-len(tail)]
	}
	return name + tail
}

// passwordAlphabet has no characters that are easily mistaken for others
// (0/O, 1/l/I) and none that need quoting in config files.
const passwordAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// Password returns a random password of n characters.
func Password(n int) (string, error) {
	var b strings.Builder
	max := big.NewInt(int64(len(passwordAlphabet)))
	for range n {
		i, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("random password: %w", err)
		}
		b.WriteByte(passwordAlphabet[i.Int64()])
	}
	return b.String(), nil
}
