package web

import (
	"net/http"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// This file holds the audit log: its API and its page, for administrators.

// listAudit shows one page of the audit log, newest first.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActRead, hosting.KindAudit); err != nil {
		return err
	}
	page, perPage, err := pageParams(r)
	if err != nil {
		return err
	}
	list, total, err := s.Service.ListAudit(r.Context(), aegir.AuditFilter{Actor: r.FormValue("actor"), Object: r.FormValue("object"), Page: page, PerPage: perPage})
	if err != nil {
		return err
	}
	if list == nil {
		list = []*aegir.AuditEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": list, "total": total, "page": page, "per_page": perPage})
	return nil
}

type auditData struct {
	List    listPage
	Entries []*aegir.AuditEntry
	Q       map[string]string
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActRead, hosting.KindAudit); err != nil {
		return err
	}
	q := queryMap(r, "actor", "object")
	list, total, err := s.Service.ListAudit(r.Context(), aegir.AuditFilter{Actor: q["actor"], Object: q["object"], Page: pageNumber(r), PerPage: uiPerPage})
	if err != nil {
		return err
	}
	return s.render(w, r, u, http.StatusOK, "audit", "Audit log", auditData{List: newListPage(r, total, uiPerPage, "actor", "object"), Entries: list, Q: q})
}
