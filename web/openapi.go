package web

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// openAPIBase is the OpenAPI 3 description of the API but for what the task
// catalog says; TestOpenAPIMatchesRoutes keeps it in step with the routes.
//
//go:embed openapi.json
var openAPIBase []byte

// openAPIDoc is the description served: openAPIBase with the TaskRequest
// schema made from the task catalog (the types the front end queues, and
// each one's arguments).
var openAPIDoc = withTaskCatalog(openAPIBase)

// withTaskCatalog returns doc with components.schemas.TaskRequest written
// from aegir.Tasks().
func withTaskCatalog(doc []byte) []byte {
	var d map[string]any
	if err := json.Unmarshal(doc, &d); err != nil {
		panic(fmt.Sprintf("openapi.json: %v", err)) // embedded: a build mistake
	}
	var types, lines []string
	for _, tt := range aegir.Tasks() {
		if len(tt.Queued) == 0 {
			continue
		}
		types = append(types, tt.Name)
		required, optional := tt.FrontEndArgs()
		if len(required)+len(optional) == 0 {
			continue
		}
		var args []string
		for _, name := range required {
			args = append(args, name+" (required)")
		}
		args = append(args, optional...)
		lines = append(lines, tt.Name+": "+strings.Join(args, ", "))
	}
	schemas := d["components"].(map[string]any)["schemas"].(map[string]any)
	schemas["TaskRequest"] = map[string]any{
		"type":     "object",
		"required": []string{"type"},
		"properties": map[string]any{
			"type": map[string]any{"type": "string", "enum": types},
			"args": map[string]any{
				"type":        "object",
				"description": "Task arguments. " + strings.Join(lines, "; ") + ". A restore's file and backup-delete's files name backups of the site (a list or space-separated); platform is a platform reference, new_uri a free site name, force a boolean.",
				"additionalProperties": map[string]any{
					"type": []string{"string", "number", "boolean", "array"},
				},
			},
		},
	}
	out, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("openapi.json: %v", err))
	}
	return out
}

// openAPI serves the OpenAPI description; it needs no token.
func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request, _ *aegir.User) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, err := w.Write(openAPIDoc)
	return err
}
