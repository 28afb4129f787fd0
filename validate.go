package aegir

import (
	"path/filepath"
	"regexp"
)

var (
	wordPattern  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	emailPattern = regexp.MustCompile(`^[^\s@"'<>;\\]+@[a-z0-9.-]+\.[a-z]{2,}$`)
)

func validateWord(field, v string) error {
	if v != "" && !wordPattern.MatchString(v) {
		return FieldErrorf(field, "%q may hold only letters, digits, '_' and '-'", v)
	}
	return nil
}

func isAbs(p string) bool { return filepath.IsAbs(p) && filepath.Clean(p) == p }
