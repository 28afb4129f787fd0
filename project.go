package aegir

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
)

// A project (DevShop's) is one git repository hosted as several
// environments (dev, test, live ...), each a platform built from a ref of
// the repository and a site on it named <environment>.<base domain>. The
// project's own facts live in a Project file beside the contexts
// ($AEGIR_HOME/projects/<name>.yml); each environment's site carries
// project, environment and protected, and its platform git_url and
// git_ref: no new context type, so every task works on them unchanged.
type Project struct {
	Name       string `yaml:"name"`
	GitURL     string `yaml:"git_url"`
	Profile    string `yaml:"profile,omitempty"`
	BaseDomain string `yaml:"base_domain"`
	// Client owns the project: its users may see its webhook secret, and
	// the deploys the webhook queues run as that client's.
	Client string `yaml:"client,omitempty"`
	// WebhookSecret signs the pushes of the repository's host (HMAC-SHA256).
	WebhookSecret string `yaml:"webhook_secret" aegir:"secret"`
	// Environments by name.
	Environments map[string]*Environment `yaml:"environments,omitempty"`
}

// Environment is one environment of a project.
type Environment struct {
	GitRef string `yaml:"git_ref"`
	// Site is the environment's site (<name>.<base domain>); its platform
	// changes with each deploy-code and is read from the site's context.
	Site string `yaml:"site"`
}

// ProjectStore keeps projects (contextfile.Projects: one file each).
type ProjectStore interface {
	// Get returns the named project, or ENOTFOUND.
	Get(name string) (*Project, error)
	// Put validates and writes a project.
	Put(p *Project) error
	// List returns the projects' names, sorted.
	List() ([]string, error)
}

// NewWebhookSecret returns a new secret for a project's webhook: 48 hex
// digits from crypto/rand.
func NewWebhookSecret() string {
	raw := make([]byte, 24)
	rand.Read(raw) // never fails: crypto/rand aborts the process instead
	return hex.EncodeToString(raw)
}

// CreateProject checks that no project has p's name, gives p a new webhook
// secret when it has none, and writes it.
func CreateProject(store ProjectStore, p *Project) error {
	if err := ValidateProjectName("name", p.Name); err != nil {
		return err
	}
	if _, err := store.Get(p.Name); err == nil {
		return Errorf(ECONFLICT, "project %s exists already", p.Name)
	} else if ErrorCode(err) != ENOTFOUND {
		return err
	}
	if p.WebhookSecret == "" {
		p.WebhookSecret = NewWebhookSecret()
	}
	return store.Put(p)
}

// PlatformName is the name of an environment's first platform; each
// deploy-code adds _<sha7> to it.
func (p *Project) PlatformName(env string) string { return "platform_" + p.Name + "_" + env }

// SiteName is the name of an environment's site.
func (p *Project) SiteName(env string) string { return env + "." + p.BaseDomain }

var (
	projectNamePattern     = regexp.MustCompile(`^[a-z][a-z0-9]{0,31}$`)
	environmentNamePattern = regexp.MustCompile(`^[a-z][a-z0-9]{0,15}$`)
)

// ValidateProjectName checks a project's name: lowercase letters and
// digits, a letter first, at most 32 (it goes into platform names and
// paths).
func ValidateProjectName(field, s string) error {
	if !projectNamePattern.MatchString(s) {
		return FieldErrorf(field, "%q is not a project name (lowercase letters and digits, a letter first, at most 32)", s)
	}
	return nil
}

// ValidateEnvironmentName checks an environment's name: lowercase
// letters and digits, a letter first, at most 16 (it is the first label
// of the site's name and part of its platform's).
func ValidateEnvironmentName(field, s string) error {
	if !environmentNamePattern.MatchString(s) {
		return FieldErrorf(field, "%q is not an environment name (lowercase letters and digits, a letter first, at most 16)", s)
	}
	return nil
}

// Validate checks the project's fields.
func (p *Project) Validate() error {
	if err := ValidateProjectName("name", p.Name); err != nil {
		return err
	}
	if err := ValidateGitURL("git_url", p.GitURL); err != nil {
		return err
	}
	if err := ValidateURI("base_domain", p.BaseDomain); err != nil {
		return err
	}
	if err := validateWord("profile", p.Profile); err != nil {
		return err
	}
	if p.Client != "" && !clientNamePattern.MatchString(p.Client) {
		return FieldErrorf("client", "%q is not a client name", p.Client)
	}
	if len(p.WebhookSecret) < 32 {
		return FieldErrorf("webhook_secret", "is shorter than 32 characters")
	}
	for name, e := range p.Environments {
		if err := ValidateEnvironmentName("environment", name); err != nil {
			return err
		}
		if err := ValidateGitRef("git_ref", e.GitRef); err != nil {
			return err
		}
		if e.Site != name+"."+p.BaseDomain {
			return FieldErrorf("site", "%q is not %s.%s", e.Site, name, p.BaseDomain)
		}
	}
	return nil
}
