package web

import (
	_ "embed"
	"net/http"

	"github.com/aegir-hosting/aegir"
)

// openAPIDoc is the OpenAPI 3 description of the API; TestOpenAPIMatchesRoutes
// keeps it in step with the routes.
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPI serves the OpenAPI description; it needs no token.
func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request, _ *aegir.User) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, err := w.Write(openAPIDoc)
	return err
}
