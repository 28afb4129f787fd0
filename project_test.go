package aegir_test

import (
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
)

func TestProjectValidateNamesTheField(t *testing.T) {
	t.Parallel()
	good := func() *aegir.Project {
		return &aegir.Project{Name: "shop", GitURL: "https://git.example.com/shop.git", BaseDomain: "shop.example.com",
			WebhookSecret: aegir.NewWebhookSecret(), Environments: map[string]*aegir.Environment{"dev": {GitRef: "main", Site: "dev.shop.example.com"}}}
	}
	if err := good().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		field string
		edit  func(*aegir.Project)
	}{
		{"name", func(p *aegir.Project) { p.Name = "Shop" }},
		{"name", func(p *aegir.Project) { p.Name = "../x" }},
		{"git_url", func(p *aegir.Project) { p.GitURL = "--upload-pack=touch /tmp/x" }},
		{"git_url", func(p *aegir.Project) { p.GitURL = "ext::sh -c id" }},
		{"base_domain", func(p *aegir.Project) { p.BaseDomain = "a b" }},
		{"webhook_secret", func(p *aegir.Project) { p.WebhookSecret = "short" }},
		{"environment", func(p *aegir.Project) {
			p.Environments["Dev-1"] = &aegir.Environment{GitRef: "main", Site: "Dev-1.shop.example.com"}
		}},
		{"git_ref", func(p *aegir.Project) { p.Environments["dev"].GitRef = "-x" }},
		{"site", func(p *aegir.Project) { p.Environments["dev"].Site = "other.example.com" }},
	} {
		p := good()
		c.edit(p)
		err := p.Validate()
		if aegir.ErrorCode(err) != aegir.EINVALID || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v", c.field, err)
		}
	}
	// A site names both its project and environment, or neither.
	s := &aegir.Site{URI: "dev.shop.example.com", Platform: "@platform_x", Project: "shop"}
	if err := s.Validate(); aegir.ErrorCode(err) != aegir.EINVALID {
		t.Errorf("a site with a project and no environment: %v", err)
	}
	s.Environment = "dev"
	if err := s.Validate(); err != nil {
		t.Errorf("a site of an environment: %v", err)
	}
}

// FuzzValidateProjectNames: an accepted project or environment name is
// lowercase letters and digits only, so it is safe in a path, a platform
// name and a site's first label.
func FuzzValidateProjectNames(f *testing.F) {
	for _, s := range []string{"shop", "dev", "../x", "a/b", "-x", "live\n", "a.b", strings.Repeat("a", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, check := range []func(string, string) error{aegir.ValidateProjectName, aegir.ValidateEnvironmentName} {
			if check("name", s) != nil {
				continue
			}
			if s == "" || len(s) > 32 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789") != "" || s[0] < 'a' {
				t.Fatalf("accepted %q", s)
			}
		}
	})
}
