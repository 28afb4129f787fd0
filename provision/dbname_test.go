package provision

import (
	"strings"
	"testing"
)

func TestDatabaseNameFollowsAegirRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		uri    string
		suffix int
		want   string
	}{
		{"example.com", 0, "examplecom"},
		{"www.example.com", 0, "examplecom"},
		{"my-site.example.org", 0, "mysiteexampleorg"},
		{"a-very-long-site-name.example.com", 0, "averylongsitenam"},
		{"a-very-long-site-name.example.com", 3, "averylongsitena3"},
		{"example.com", 12, "examplecom12"},
		{"1.example.com", 0, "site1examplecom"},
	}
	for _, tc := range cases {
		if got := DatabaseName(tc.uri, tc.suffix); got != tc.want {
			t.Errorf("DatabaseName(%q, %d) = %q, want %q", tc.uri, tc.suffix, got, tc.want)
		}
	}
}

func TestPasswordUsesUnambiguousCharacters(t *testing.T) {
	t.Parallel()
	p, err := Password(64)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 64 || strings.ContainsAny(p, "0O1lI'\"$\\ ") {
		t.Fatalf("password %q", p)
	}
}
