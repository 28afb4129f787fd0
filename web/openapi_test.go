package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

type openAPI struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
	Comps   struct {
		Schemas map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

var methods = []string{"get", "post", "put", "patch", "delete", "head", "options"}

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// TestOpenAPIMatchesRoutes checks that every route registered on the
// ServeMux is in the OpenAPI document and that every operation of the
// document reaches a route of the same pattern on the ServeMux.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	var doc openAPI
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for m := range item {
			if slices.Contains(methods, m) {
				documented[strings.ToUpper(m)+" "+path] = true
			}
		}
	}

	srv := &Server{}
	srv.init()
	mux := http.NewServeMux()
	registered := map[string]bool{}
	for _, rt := range srv.routes() {
		pattern := rt.method + " " + rt.path
		mux.Handle(pattern, http.NotFoundHandler())
		registered[pattern] = true
	}
	var missing, extra []string
	for p := range registered {
		if !documented[p] {
			missing = append(missing, p)
		}
	}
	for p := range documented {
		method, path, _ := strings.Cut(p, " ")
		req := httptest.NewRequest(method, pathParam.ReplaceAllString(path, "1"), nil)
		if _, pattern := mux.Handler(req); pattern != p {
			extra = append(extra, p+" (the ServeMux routes it to "+strings.TrimSpace(pattern+")"))
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	for _, p := range missing {
		t.Errorf("route %s is not in openapi.json", p)
	}
	for _, p := range extra {
		t.Errorf("openapi.json documents %s, which no route serves", p)
	}
}

// TestOpenAPISchemasListEveryProperty keeps the object schemas in step
// with the context properties.
func TestOpenAPISchemasListEveryProperty(t *testing.T) {
	t.Parallel()
	var doc openAPI
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	for schema, typ := range map[string]aegir.ContextType{"Server": aegir.ServerContext, "Platform": aegir.PlatformContext, "Site": aegir.SiteContext} {
		for _, p := range aegir.Properties(typ) {
			if _, ok := doc.Comps.Schemas[schema].Properties[p.Name]; !ok {
				t.Errorf("schema %s lacks property %s", schema, p.Name)
			}
		}
	}
}

// TestOpenAPITaskRequestIsTheCatalogs: the served description lists the
// task types the front end queues, from the catalog, and no other.
func TestOpenAPITaskRequestIsTheCatalogs(t *testing.T) {
	t.Parallel()
	var d struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Enum        []any  `json:"enum"`
					Description string `json:"description"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDoc, &d); err != nil {
		t.Fatal(err)
	}
	req := d.Components.Schemas["TaskRequest"]
	var got []string
	for _, v := range req.Properties["type"].Enum {
		got = append(got, fmt.Sprint(v))
	}
	if want := hosting.TaskTypes(""); !slices.Equal(got, want) {
		t.Errorf("TaskRequest types %v, want %v", got, want)
	}
	if !strings.Contains(req.Properties["args"].Description, "migrate: platform (required), new_uri, force") {
		t.Errorf("args description: %s", req.Properties["args"].Description)
	}
}
