package aegir

import "path/filepath"

// Paths derives every path aegir uses from $AEGIR_HOME.
type Paths struct {
	Home string
}

// Contexts is where named contexts are saved.
func (p Paths) Contexts() string { return filepath.Join(p.Home, "contexts") }

// Config is the root of generated configuration.
func (p Paths) Config() string { return filepath.Join(p.Home, "config") }

// ServerConfig is the configuration directory of one server.
func (p Paths) ServerConfig(server string) string { return filepath.Join(p.Config(), server) }

// Includes holds the shared per-app snippets.
func (p Paths) Includes() string { return filepath.Join(p.Config(), "includes") }

// Backups holds site backups.
func (p Paths) Backups() string { return filepath.Join(p.Home, "backups") }

// Platforms is where platforms are built by default.
func (p Paths) Platforms() string { return filepath.Join(p.Home, "platforms") }

// Clients holds the per-client links to sites.
func (p Paths) Clients() string { return filepath.Join(p.Home, "clients") }

// Private holds the sites' private directories, outside every platform's
// root.
func (p Paths) Private() string { return filepath.Join(p.Home, "private") }

// SitePrivate is the private directory of the site uri: its private files,
// temporary files and config sync directory (apps that keep them outside
// the root, aegir.PrivateDirApp).
func (p Paths) SitePrivate(uri string) string { return filepath.Join(p.Private(), uri) }
