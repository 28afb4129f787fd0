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

// Projects holds the projects' files (<name>.yml, 0600: they hold webhook
// secrets).
func (p Paths) Projects() string { return filepath.Join(p.Home, "projects") }

// Platforms is where platforms are built by default.
func (p Paths) Platforms() string { return filepath.Join(p.Home, "platforms") }

// Clients holds the per-client links to sites.
func (p Paths) Clients() string { return filepath.Join(p.Home, "clients") }

// SSHKey is the master's own key, which logs in to remote servers as their
// aegir user (made by aegir setup when missing).
func (p Paths) SSHKey() string { return filepath.Join(p.Home, ".ssh", "id_ed25519") }

// KnownHosts pins the host keys of remote servers, learned at bootstrap.
func (p Paths) KnownHosts() string { return filepath.Join(p.Home, ".ssh", "known_hosts") }

// Hooks holds the task hooks of the user's own:
// hooks/<task>/{pre,post}.d/ (docs/extending.md).
func (p Paths) Hooks() string { return filepath.Join(p.Home, "hooks") }

// Private holds the sites' private directories, outside every platform's
// root.
func (p Paths) Private() string { return filepath.Join(p.Home, "private") }

// SitePrivate is the private directory of the site uri: its private files,
// temporary files and config sync directory (apps that keep them outside
// the root, aegir.PrivateDirApp).
func (p Paths) SitePrivate(uri string) string { return filepath.Join(p.Private(), uri) }
