package phpfile

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
)

// Extensions are what a site's settings file carries for extensions of
// aegir (Aegir's "Extending Aegir"): the custom properties of the site,
// its platform and its server, and settings files of the user's own,
// which aegir never writes and so are kept across every verify.
type Extensions struct {
	// Custom becomes $aegir_custom['<name>'] = '<value>'.
	Custom map[string]string
	// Includes are included in order when readable: absolute paths, or
	// names relative to the settings file's own directory.
	Includes []string
}

// Block returns the PHP statements of e: $aegir_custom first, so the
// included files can read or change it, then the includes. Every value is
// a single-quoted PHP literal (Quote), so none can end the statement.
func (e Extensions) Block() string {
	var b strings.Builder
	b.WriteString("// Custom properties of the site, its platform and its server\n")
	b.WriteString("// (aegir save @NAME --custom.NAME=value).\n")
	b.WriteString("$aegir_custom = array();\n")
	for _, name := range slices.Sorted(maps.Keys(e.Custom)) {
		fmt.Fprintf(&b, "$aegir_custom[%s] = %s;\n", Quote(name), Quote(e.Custom[name]))
	}
	if len(e.Includes) > 0 {
		b.WriteString("\n// Settings of your own, kept across every verify: the server's, the\n")
		b.WriteString("// platform's, then the site's.\n")
	}
	for _, inc := range e.Includes {
		expr, check := Quote(inc), "@is_readable"
		if !filepath.IsAbs(inc) {
			expr, check = "__DIR__ . "+Quote("/"+inc), "is_readable"
		}
		// A shared file may lie outside a per-site pool's open_basedir,
		// where PHP warns on every request: it is not for that site then.
		fmt.Fprintf(&b, "if (%s(%s)) {\n  include %s;\n}\n", check, expr, expr)
	}
	return b.String()
}

// LocalSettings is the site's own settings file, in its site directory,
// which Aegir's settings include last.
const LocalSettings = "local.settings.php"

// SiteBlock returns the Block of a site's settings: its custom
// properties, then the shared settings files (the server's, the
// platform's) and its own LocalSettings.
func SiteBlock(custom map[string]string, shared []string) string {
	return Extensions{Custom: custom, Includes: append(slices.Clone(shared), LocalSettings)}.Block()
}
