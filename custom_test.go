package aegir_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/internal/webconf"
)

func TestCustomPropertiesSetAndRemove(t *testing.T) {
	t.Parallel()
	for _, typ := range []aegir.ContextType{aegir.ServerContext, aegir.PlatformContext, aegir.SiteContext} {
		c, err := aegir.NewContext("a.example.com", typ)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetProperty("--custom.cheesy", "cheddar"); err == nil {
			t.Fatalf("%s: a name with dashes left was accepted", typ)
		}
		if err := c.SetProperty("custom.cheesy", "cheddar"); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if err := c.SetProperty("custom.cheese-kind", "brie"); err != nil { // dashes read as underscores
			t.Fatalf("%s: %v", typ, err)
		}
		if got := c.CustomOf(); got["cheesy"] != "cheddar" || got["cheese_kind"] != "brie" {
			t.Fatalf("%s: custom = %v", typ, got)
		}
		cp := c.Clone()
		if err := c.SetProperty("custom.cheesy", ""); err != nil {
			t.Fatal(err)
		}
		if _, ok := c.CustomOf()["cheesy"]; ok {
			t.Fatalf("%s: an empty value did not remove the property", typ)
		}
		if cp.CustomOf()["cheesy"] != "cheddar" {
			t.Fatalf("%s: Clone shares its custom properties", typ)
		}
		if err := c.SetProperty("custom", "x"); err == nil || !strings.Contains(err.Error(), "custom.NAME") {
			t.Fatalf("%s: custom without a name: %v", typ, err)
		}
	}
}

func TestCustomPropertiesRefuseBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, value, field string }{
		{"Cheesy", "x", "custom.Cheesy"},
		{"1st", "x", "custom.1st"},
		{"a.b", "x", "custom.a.b"},
		{strings.Repeat("a", 49), "x", "custom." + strings.Repeat("a", 49)},
		{"cheesy", `a"; return 403; #`, "custom.cheesy"},
		{"cheesy", "two words", "custom.cheesy"},
		{"cheesy", "$host", "custom.cheesy"},
		{"cheesy", "a\nb", "custom.cheesy"},
		{"cheesy", strings.Repeat("x", aegir.MaxCustomValue+1), "custom.cheesy"},
	} {
		c, _ := aegir.NewContext("a.example.com", aegir.SiteContext)
		err := c.SetProperty(aegir.CustomPrefix+tc.name, tc.value)
		var e *aegir.Error
		if err == nil || !errors.As(err, &e) || e.Field != tc.field || e.Code != aegir.EINVALID {
			t.Errorf("custom.%s=%.20q: got %v, want an EINVALID error on %s", tc.name, tc.value, err, tc.field)
		}
	}
	c, _ := aegir.NewContext("a.example.com", aegir.SiteContext)
	for i := range aegir.MaxCustom {
		if err := c.SetProperty(aegir.CustomPrefix+"p"+strings.Repeat("x", i), "1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SetProperty("custom.one_more", "1"); err == nil {
		t.Errorf("property %d accepted", aegir.MaxCustom+1)
	}
}

func TestMergeCustomMostSpecificWins(t *testing.T) {
	t.Parallel()
	got := aegir.MergeCustom(aegir.Custom{"a": "server", "b": "server"}, nil, aegir.Custom{"b": "site"})
	params := got.Params()
	want := []aegir.Param{{Name: "AEGIR_CUSTOM_A", Value: "server"}, {Name: "AEGIR_CUSTOM_B", Value: "site"}}
	if len(params) != 2 || params[0] != want[0] || params[1] != want[1] {
		t.Fatalf("Params = %v, want %v", params, want)
	}
}

// FuzzCustomProperty: a custom property save accepts becomes a FastCGI
// parameter / SetEnv variable the web server drivers take (webconf's
// CheckParam), and reads back the same from the context's JSON form.
func FuzzCustomProperty(f *testing.F) {
	for _, s := range []string{"cheesy", "x", "a_b", "A", "1", "a-b", "a.b", ""} {
		for _, v := range []string{"cheddar", "", "null", `"`, "'", `\`, "$x", "a b", ";", "{}", "`id`", "a\nb", "\xff", "é", "%{x}", "${x}", "#x"} {
			f.Add(s, v)
		}
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		c, _ := aegir.NewContext("a.example.com", aegir.SiteContext)
		c.Site.Platform = "@p"
		if c.SetProperty(aegir.CustomPrefix+name, value) != nil || c.Validate() != nil {
			return
		}
		for _, p := range c.Site.Custom.Params() {
			if err := webconf.CheckParam(p); err != nil {
				t.Fatalf("custom.%s=%q accepted, but the web servers refuse it: %v", name, value, err)
			}
		}
		b, err := aegir.MarshalProps(c.Site)
		if err != nil {
			t.Fatal(err)
		}
		var back aegir.Site
		if err := aegir.UnmarshalProps(b, &back); err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(c.Site.Custom)
		z, _ := json.Marshal(back.Custom)
		if string(a) != string(z) {
			t.Fatalf("custom %s read back as %s", a, z)
		}
	})
}
